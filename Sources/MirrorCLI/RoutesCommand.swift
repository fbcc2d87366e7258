import ArgumentParser
import ProxyConfig

/// `mirrorctl routes dump|match`: the routing table in matching order, and which route takes a request.
struct RoutesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes",
        abstract: "Show the route tables, or which route takes a request.",
        subcommands: [Dump.self, Match.self]
    )

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every listener → virtual host → route → action.")

        @Argument(help: "A bootstrap (and its LDS/CDS files), or LDS/CDS files.", completion: .file()) var files: [String]
        @Option(name: .long, help: "text or json.") var output: String = "text"

        func validate() throws {
            guard OutputFormat(rawValue: self.output) != nil else { throw ValidationError("--output must be text or json") }
        }

        func run() async throws {
            let set = try RoutesCommand.load(self.files)
            let dump = RouteDump(set)
            if self.output == "json" {
                Output.current.print(JSON.render(dump))
                return
            }
            for listener in dump.listeners {
                let sni = listener.serverNames.isEmpty ? "" : " sni \(listener.serverNames.joined(separator: ","))"
                Output.current.print("listener \(listener.listener) \(listener.address)\(sni) route_config \(listener.routeConfig)")
                if let registry = listener.registryMirror {
                    let limit = registry.maxSize.map { ", max_size \($0) bytes" } ?? ""
                    Output.current.print("  registry_mirror cache \(registry.cache)\(limit)")
                    for upstream in registry.upstreams {
                        let aliases = upstream.aliases.isEmpty ? "" : " (also \(upstream.aliases.joined(separator: ", ")))"
                        let window = upstream.tagStaleWhileRevalidate.map { " stale_while_revalidate \($0)" } ?? ""
                        Output.current.print("    upstream \(upstream.registry)\(aliases) -> cluster \(upstream.cluster) tag_ttl \(upstream.tagTTL)\(window)")
                    }
                }
                for host in listener.virtualHosts {
                    Output.current.print("  virtual_host \(host.name) domains \(host.domains.joined(separator: ", "))")
                    for route in host.routes {
                        var line = "    [\(route.index)]" + (route.name.map { " \($0)" } ?? "") + " \(route.match) -> \(route.action)"
                        if let host = route.hostRewrite { line += " host_rewrite \(host)" }
                        if let path = route.pathRewrite { line += " path_rewrite \(path)" }
                        if let timeout = route.timeout { line += " timeout \(timeout)" }
                        Output.current.print(line)
                    }
                }
            }
        }
    }

    struct Match: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Which virtual host, route and cluster take a request, and the host/path sent upstream.",
            discussion: "Exit status: 0 a route matched, 1 no route (Envoy answers 404 NR), 2 error."
        )

        @Argument(help: "A bootstrap (and its LDS/CDS files), or LDS/CDS files.", completion: .file()) var files: [String]
        @Option(name: .long, help: "Host (or :authority) header, port included if the client sends one.") var host: String
        @Option(name: .long, help: "Request path, query string allowed.") var path: String
        @Option(name: .long, help: "Request method.") var method: String = "GET"
        @Option(name: .long, parsing: .singleValue, help: "A request header as NAME=VALUE; repeatable.") var header: [String] = []
        @Option(name: .long, help: "Only this listener.") var listener: String?
        @Option(name: .long, help: "text or json.") var output: String = "text"

        func validate() throws {
            guard OutputFormat(rawValue: self.output) != nil else { throw ValidationError("--output must be text or json") }
            guard self.path.hasPrefix("/") else { throw ValidationError("--path must start with '/'") }
            for entry in self.header where !entry.contains("=") {
                throw ValidationError("--header takes NAME=VALUE, got '\(entry)'")
            }
        }

        func run() async throws {
            let set = try RoutesCommand.load(self.files)
            let headers = self.header.map { entry -> (String, String) in
                let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }
            let request = RouteRequest(host: self.host, path: self.path, method: self.method, headers: headers)
            let results = RouteExplanation.explain(set, request: request, listener: self.listener)
            if results.isEmpty {
                Output.current.printError(self.listener.map { "no listener named '\($0)'" } ?? "no listener with an HTTP connection manager")
                throw ExitCode(2)
            }
            if self.output == "json" {
                Output.current.print(JSON.render(results))
            } else {
                for result in results { Output.current.print(Self.render(result)) }
            }
            if !results.contains(where: \.matched) { throw ExitCode(1) }
        }

        static func render(_ result: RouteExplanation) -> String {
            var lines = ["listener:      \(result.listener)"]
            guard let host = result.virtualHost else {
                lines.append("no virtual host matches: 404 (NR)")
                return lines.joined(separator: "\n")
            }
            lines.append("virtual host:  \(host) (\(result.domainRule ?? ""))")
            guard result.matched else {
                lines.append("no route matches: 404 (NR)")
                return lines.joined(separator: "\n")
            }
            lines.append("route:         [\(result.routeIndex ?? 0)]\(result.routeName.map { " \($0)" } ?? "") \(result.routeMatch ?? "")")
            lines.append("action:        \(result.action ?? "")")
            if let cluster = result.cluster { lines.append("cluster:       \(cluster)") }
            if let host = result.upstreamHost { lines.append("upstream host: \(host)") }
            if let path = result.upstreamPath { lines.append("upstream path: \(path)") }
            for (name, value) in result.addedHeaders.sorted(by: { $0.key < $1.key }) {
                lines.append("adds header:   \(name): \(value)")
            }
            if let status = result.status {
                lines.append("response:      \(status)\(result.responseFlag.map { " (\($0))" } ?? "")\(result.location.map { " Location: \($0)" } ?? "")")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Loads a file for routing; errors stop here because a table with errors is not what would run.
    static func load(_ files: [String]) throws -> ConfigSet {
        guard !files.isEmpty else { throw ValidationError("give a configuration file") }
        let file = files.joined(separator: " ")
        let set = ConfigLoader.load(paths: files)
        if !set.isValid {
            for error in set.diagnostics.blockingErrors { Output.current.printError(error.description) }
            Output.current.printError("\(file): invalid; run `mirrorctl validate \(file)`")
            throw ExitCode(2)
        }
        return set
    }
}
