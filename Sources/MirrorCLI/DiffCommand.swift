import ArgumentParser
import ProxyConfig

/// `mirrorctl diff OLD NEW`: what a reload would change, by resource name and field.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show the semantic difference between two configurations (bootstraps or single LDS/CDS files).",
        discussion: "Exit status: 0 same, 1 different, 2 error."
    )

    @Argument(help: "The configuration in force.", completion: .file()) var old: String
    @Argument(help: "The configuration to compare with it.", completion: .file()) var new: String
    @Option(name: .long, help: "text or json.") var output: String = "text"

    func validate() throws {
        guard OutputFormat(rawValue: self.output) != nil else { throw ValidationError("--output must be text or json") }
    }

    func run() async throws {
        let old = ConfigLoader.load(paths: [self.old])
        let new = ConfigLoader.load(paths: [self.new])
        let failures = old.diagnostics.blockingErrors + new.diagnostics.blockingErrors
        if !failures.isEmpty {
            for failure in failures { Output.current.printError(failure.description) }
            Output.current.printError("cannot diff: fix the errors above first")
            throw ExitCode(2)
        }
        let diff = ConfigDiff(old: old, new: new)
        if self.output == "json" {
            Output.current.print(JSON.render(DiffReport(same: diff.isEmpty, changes: diff.changes)))
        } else if diff.isEmpty {
            Output.current.print("no differences")
        } else {
            for change in diff.changes { Output.current.print(Self.render(change)) }
        }
        if !diff.isEmpty { throw ExitCode(1) }
    }

    struct DiffReport: Encodable {
        var same: Bool
        var changes: [ConfigDiff.ResourceChange]
    }

    static func render(_ change: ConfigDiff.ResourceChange) -> String {
        switch change.kind {
        case .added: return "+ \(change.resource) \(change.name)"
        case .removed: return "- \(change.resource) \(change.name)"
        case .modified:
            var lines = ["~ \(change.resource) \(change.name)"]
            for field in change.fields {
                switch (field.old, field.new) {
                case (nil, let new?): lines.append("    + \(field.path): \(Self.short(new))")
                case (let old?, nil): lines.append("    - \(field.path): \(Self.short(old))")
                case (let old?, let new?): lines.append("    ~ \(field.path): \(Self.short(old)) -> \(Self.short(new))")
                default: break
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    static func short(_ tree: ConfigTree) -> String {
        let text = tree.description
        return text.count > 160 ? String(text.prefix(157)) + "..." : text
    }
}
