import ArgumentParser
import Foundation

/// `mirrorctl config dump --admin ADDR`: the running configuration, as the admin endpoint reports it.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Read a running mirrord's configuration.",
                                                    subcommands: [Dump.self])

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print /config_dump of a running mirrord.")
        @Option(name: .long, help: "Admin address, HOST:PORT.") var admin: String = "127.0.0.1:9901"

        func run() async throws {
            let (status, body) = try StatusCommand.fetch(self.admin, "/config_dump")
            guard status == 200 else { throw ExitCode(1) }
            Output.current.print(body.trimmingCharacters(in: .newlines))
        }
    }
}

/// `mirrorctl status --admin ADDR`: is it ready, what is it serving, did the last reload apply.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Summarise a running mirrord: readiness, listeners, clusters, last reload.",
        discussion: "Exit status: 0 ready, 1 not ready or last reload rejected, 2 unreachable.")
    @Option(name: .long, help: "Admin address, HOST:PORT.") var admin: String = "127.0.0.1:9901"

    static func fetch(_ admin: String, _ path: String) throws -> (Int, String) {
        do {
            return try AdminClient.get(admin, path)
        } catch {
            Output.current.printError("\(error)")
            throw ExitCode(2)
        }
    }

    func run() async throws {
        let (readyStatus, ready) = try Self.fetch(self.admin, "/ready")
        let (_, listeners) = try Self.fetch(self.admin, "/listeners")
        let (_, stats) = try Self.fetch(self.admin, "/stats?filter=^(listener_manager\\.lds\\.|cluster_manager\\.(cds\\.|active_clusters)|server\\.uptime)")
        let (_, dump) = try Self.fetch(self.admin, "/config_dump")
        var lines = ["state:      \(ready.trimmingCharacters(in: .whitespacesAndNewlines))"]
        for listener in listeners.split(separator: "\n") {
            let parts = listener.components(separatedBy: "::")
            lines.append("listener:   \(parts.first ?? "") on \(parts.last ?? "")")
        }
        var values: [String: String] = [:]
        for line in stats.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        lines.append("clusters:   \(values["cluster_manager.active_clusters"] ?? "0")")
        lines.append("versions:   lds \(values["listener_manager.lds.version_text"] ?? "-"), cds \(values["cluster_manager.cds.version_text"] ?? "-")")
        lines.append("reloads:    \(values["listener_manager.lds.update_success"] ?? "0") applied, "
                     + "\(values["listener_manager.lds.update_rejected"] ?? "0") rejected, "
                     + "\(values["listener_manager.lds.update_failure"] ?? "0") failed")
        var rejected = false
        if let data = dump.data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let configs = object["configs"] as? [[String: Any]],
           let error = configs.last?["error_state"] as? [String: Any], let details = error["details"] as? String {
            rejected = true
            lines.append("last reload rejected at \(error["last_update_attempt"] as? String ?? "?"):")
            lines += details.split(separator: "\n").map { "  \($0)" }
        }
        Output.current.print(lines.joined(separator: "\n"))
        if readyStatus != 200 || rejected { throw ExitCode(1) }
    }
}
