import ArgumentParser
import Foundation
import ProxyConfig

/// `mirrorctl init`: writes a working mirror configuration, validates it, and says how to use it.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write envoy.yaml, lds.yaml and cds.yaml for a registry mirror into a directory.",
        discussion: "Without --upstream the mirror serves docker.io, quay.io, gcr.io, ghcr.io and registry.k8s.io.")

    @Option(name: .long, help: "Directory to write the files into (created if missing).")
    var out: String

    @Option(name: .long, help: "HOST:PORT the mirror listens on.")
    var listen = "0.0.0.0:5000"

    @Option(name: .long, help: "HOST:PORT of the admin endpoint (keep it on loopback).")
    var admin = "127.0.0.1:9901"

    @Option(name: .customLong("cache-dir"), help: "Absolute directory of the blob and manifest cache.")
    var cacheDirectory = MirrorSetup().cacheDirectory

    @Option(name: .customLong("cache-max-size"), help: "Cache size limit, e.g. 50Gi (least recently used goes first).")
    var cacheMaxSize: String?

    @Option(name: .customLong("upstream"), help: "NAME=URL of an upstream registry, e.g. gcr.io=https://gcr.io (repeatable).")
    var upstreams: [String] = []

    @Option(name: .customLong("domain"), help: "NAME=HOSTNAME: a host-based virtual host for an upstream (repeatable).")
    var domains: [String] = []

    @Flag(name: .customLong("allow-private-upstreams"),
          help: "Permit loopback/private addresses for upstreams, token realms and redirect targets.")
    var allowPrivateUpstreams = false

    @Flag(name: .long, help: "Overwrite files that already exist.")
    var force = false

    func run() throws {
        var setup = MirrorSetup()
        do {
            setup.listen = try MirrorSetup.parseAddress(self.listen, flag: "--listen")
            setup.admin = try MirrorSetup.parseAddress(self.admin, flag: "--admin")
            setup.cacheDirectory = self.cacheDirectory
            setup.cacheMaxSize = self.cacheMaxSize
            if !self.upstreams.isEmpty { setup.upstreams = try self.upstreams.map(MirrorSetup.parseUpstream) }
            setup.domains = try self.domains.map(MirrorSetup.parseDomain)
            setup.allowPrivateUpstreams = self.allowPrivateUpstreams
            try setup.check()
        } catch {
            throw ValidationError(error.description)
        }
        let files = setup.files
        // Validate before anything touches the disk: init never leaves a configuration mirrord would refuse.
        let virtual = Dictionary(uniqueKeysWithValues: files.map { ("\(self.out)/\($0.key)", $0.value) })
        let set = ConfigLoader.load(paths: ["\(self.out)/envoy.yaml"], from: InMemoryFileSource(virtual))
        guard set.isValid else {
            for diagnostic in set.diagnostics.blockingErrors { Output.current.printError(diagnostic.description) }
            throw ExitCode(2)
        }
        let manager = FileManager.default
        if !self.force {
            for name in files.keys.sorted() where manager.fileExists(atPath: "\(self.out)/\(name)") {
                throw ValidationError("\(self.out)/\(name) exists; use --force to overwrite it")
            }
        }
        do {
            try manager.createDirectory(atPath: self.out, withIntermediateDirectories: true)
            for (name, text) in files.sorted(by: { $0.key < $1.key }) {
                try text.write(toFile: "\(self.out)/\(name)", atomically: true, encoding: .utf8)
            }
        } catch {
            Output.current.printError("cannot write \(self.out): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        Output.current.print(setup.instructions(directory: self.out))
    }
}
