import ArgumentParser
import Foundation
import ProxyConfig

/// `mirrorctl validate FILE...`: every error and warning of a bootstrap and the LDS/CDS files it names.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a bootstrap (and the LDS/CDS files it names) or LDS/CDS files, without starting anything.",
        discussion: "Exit status: 0 valid, 1 invalid, 2 usage error."
    )

    @Argument(help: "A bootstrap file, or LDS/CDS files.", completion: .file())
    var files: [String] = []

    @Option(name: .long, help: "text or json.")
    var output: String = "text"

    @Flag(name: .long, help: "Also report what current Envoy would reject or warn about; its errors fail the check.")
    var envoyCompat = false

    func validate() throws {
        guard !self.files.isEmpty else { throw ValidationError("give at least one configuration file") }
        guard OutputFormat(rawValue: self.output) != nil else { throw ValidationError("--output must be text or json") }
    }

    func run() async throws {
        let set = ConfigLoader.load(paths: self.files)
        let shown = set.diagnostics.filter { self.envoyCompat || $0.origin == .mirrord }
        let valid = !shown.hasErrors
        if self.output == "json" {
            Output.current.print(JSON.render(ValidationReport(set: set, diagnostics: shown, valid: valid)))
        } else {
            let renderer = DiagnosticRenderer()
            for diagnostic in shown { Output.current.print(renderer.render(diagnostic)) }
            let summary = "\(set.listeners.count) listener\(set.listeners.count == 1 ? "" : "s"), "
                + "\(set.clusters.count) cluster\(set.clusters.count == 1 ? "" : "s"); "
                + "\(shown.errors.count) error\(shown.errors.count == 1 ? "" : "s"), "
                + "\(shown.warnings.count) warning\(shown.warnings.count == 1 ? "" : "s")"
            Output.current.print("\(self.files.joined(separator: " ")): \(valid ? "OK" : "INVALID") (\(summary))")
        }
        if !valid { throw ExitCode(1) }
    }
}

/// The JSON shape of `validate --output json`.
struct ValidationReport: Encodable {
    var valid: Bool
    var files: [String]
    var listeners: [String]
    var clusters: [String]
    var errors: Int
    var warnings: Int
    var diagnostics: [Diagnostic]

    init(set: ConfigSet, diagnostics: [Diagnostic], valid: Bool) {
        self.valid = valid
        self.files = set.files
        self.listeners = set.listeners.map(\.name)
        self.clusters = set.clusters.map(\.name)
        self.errors = diagnostics.errors.count
        self.warnings = diagnostics.warnings.count
        self.diagnostics = diagnostics
    }
}

/// Prints a diagnostic like a compiler: the message, the source line, and a caret under the column.
final class DiagnosticRenderer {
    private var lines: [String: [Substring]] = [:]

    func render(_ diagnostic: Diagnostic) -> String {
        var text = diagnostic.description
        if let line = self.sourceLine(diagnostic.location), line.count < 400 {
            let caret = String(repeating: " ", count: max(0, diagnostic.location.column - 1)) + "^"
            text += "\n    \(line)\n    \(caret)"
        }
        return text
    }

    private func sourceLine(_ location: SourceLocation) -> Substring? {
        if self.lines[location.file] == nil {
            guard let data = FileManager.default.contents(atPath: location.file), data.count < 8 << 20,
                  let text = String(data: data, encoding: .utf8) else {
                self.lines[location.file] = []
                return nil
            }
            self.lines[location.file] = text.split(separator: "\n", omittingEmptySubsequences: false)
        }
        guard let lines = self.lines[location.file], location.line >= 1, location.line <= lines.count else { return nil }
        let line = lines[location.line - 1]
        return line.contains("\t") || line.contains("\r") ? nil : line
    }
}
