import Foundation
import Testing
@testable import ProxyConfig

/// Every file in Fixtures/bad must fail with the message and position `expectations.txt` gives for it.
@Suite struct BrokenConfigCorpusTests {
    struct Expectation: Sendable, CustomStringConvertible {
        var file: String
        var line: Int
        var column: Int
        var text: String
        var description: String { self.file }
    }

    static let directory = fixturesDirectory.appendingPathComponent("bad")

    static let expectations: [Expectation] = {
        let manifest = (try? String(contentsOf: directory.appendingPathComponent("expectations.txt"), encoding: .utf8)) ?? ""
        return manifest.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { row in
            let parts = row.split(separator: "|", maxSplits: 2).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 3 else { return nil }
            let position = parts[1].split(separator: ":").compactMap { Int($0) }
            guard position.count == 2 else { return nil }
            return Expectation(file: parts[0], line: position[0], column: position[1], text: parts[2])
        }
    }()

    @Test func corpusHasAtLeastFortyCasesAndEveryFileIsListed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter { $0.hasSuffix(".yaml") }
        #expect(Self.expectations.count >= 40)
        #expect(Set(files) == Set(Self.expectations.map(\.file)))
    }

    @Test(arguments: expectations)
    func brokenFileFailsAtItsPosition(_ expectation: Expectation) {
        let path = Self.directory.appendingPathComponent(expectation.file).path
        let set = ConfigLoader.load(paths: [path])
        #expect(!set.isValid, "\(expectation.file) should be invalid")
        let errors = set.diagnostics.blockingErrors
        let match = errors.first { $0.location.line == expectation.line && $0.location.column == expectation.column }
        #expect(match != nil, "no error at \(expectation.line):\(expectation.column); got \(errors.map(\.description))")
        #expect(match?.message.contains(expectation.text) == true,
                "message '\(match?.message ?? "")' lacks '\(expectation.text)'")
        #expect(match?.location.file == path)
    }

    @Test func aFileLargerThanTheLimitIsRefusedWithoutReadingItAsYAML() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mirrord-huge-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: path) }
        var text = "version_info: \"1\"\nresources: []\n# "
        text += String(repeating: "x", count: YAMLLoader.maximumFileSize)
        try text.write(to: path, atomically: false, encoding: .utf8)
        let set = ConfigLoader.load(paths: [path.path])
        #expect(set.errorMessages.count == 1)
        #expect(set.errorMessages.first?.contains("the limit is \(YAMLLoader.maximumFileSize) bytes") == true)
    }

    @Test func nestingJustUnderTheLimitParsesAndIsReportedAsAWrongType() {
        let depth = 90
        let text = "version_info: \"1\"\nresources: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let set = load(["lds.yaml": text])
        #expect(set.errorMessages == ["expected a resource mapping with an '@type'"])
    }

    @Test func extremelyDeepNestingNeverCrashes() {
        let depth = 200_000
        let text = "resources: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let set = load(["lds.yaml": text])
        #expect(set.errorMessages == ["nesting is deeper than \(YAMLLoader.maximumDepth) levels"])
        let block = "resources:\n" + (0..<5_000).map { String(repeating: " ", count: $0) + "- " }.joined(separator: "\n") + "x\n"
        #expect(!load(["lds.yaml": block]).isValid)
    }
}
