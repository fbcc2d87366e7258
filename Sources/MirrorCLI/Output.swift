import Foundation

/// Where commands print. A task-local so tests run commands in process and read what they printed.
public final class Output: @unchecked Sendable {
    private let lock = NSLock()
    private var standard = ""
    private var errors = ""
    private let capturing: Bool

    public init(capturing: Bool) { self.capturing = capturing }

    @TaskLocal public static var current = Output(capturing: false)

    public func print(_ text: String) {
        guard self.capturing else { Swift.print(text); return }
        self.lock.withLock { self.standard += text + "\n" }
    }

    public func printError(_ text: String) {
        guard self.capturing else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
            return
        }
        self.lock.withLock { self.errors += text + "\n" }
    }

    public var standardOutput: String { self.lock.withLock { self.standard } }
    public var standardError: String { self.lock.withLock { self.errors } }
}

/// `--output text|json`, shared by the commands.
public enum OutputFormat: String, CaseIterable, Sendable {
    case text, json
}

enum JSON {
    static func render<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
