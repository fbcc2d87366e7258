import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ProxyConfig
import ProxyCore
import RegistryMirror
import ServiceLifecycle
import UnixSignals

/// `mirrord`: loads and validates its configuration (the embedded quickstart without `-c`) and serves it.
///
/// Flags follow Envoy's (`-c`, `--mode validate`, `--drain-time-s`) so existing unit files keep working.
public struct MirrordCommand: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "mirrord",
        abstract: "A container-registry mirror configured with Envoy v3 bootstrap/LDS/CDS files.",
        version: Self.version
    )

    public enum Mode: String, ExpressibleByArgument, CaseIterable, Sendable { case serve, validate }

    @Option(name: [.customShort("c"), .customLong("config-path")], help: "Bootstrap file (Envoy's -c). Without it the embedded quickstart runs.")
    var configPath: String?

    @Option(name: .long, help: "serve, or validate (print `configuration '<path>' OK` and exit).")
    var mode: Mode = .serve

    @Option(name: [.customShort("l"), .customLong("log-level")], help: "trace, debug, info, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("drain-time-s"), help: "Seconds in-flight requests get to finish on shutdown or listener removal.")
    var drainTimeSeconds: Int = 600

    @Option(name: .long, help: "Event-loop threads serving traffic (Envoy's --concurrency); default: one per CPU.")
    var concurrency: Int?

    public enum WatchMode: String, ExpressibleByArgument, CaseIterable, Sendable { case auto, poll, none }

    @Option(name: .long, help: "How LDS/CDS changes are noticed: auto (inotify, else polling), poll, or none (SIGHUP only).")
    var watch: WatchMode = .auto

    public init() {}

    /// Entry point of the executable, so it needs no import of ArgumentParser.
    public static func launch() async {
        await Self.main()
    }

    public func validate() throws {
        let levels = ["trace", "debug", "info", "warning", "warn", "error", "critical", "off"]
        guard levels.contains(self.logLevel.lowercased()) else {
            throw ValidationError("--log-level must be one of \(levels.joined(separator: ", "))")
        }
        guard self.drainTimeSeconds >= 0 else { throw ValidationError("--drain-time-s must not be negative") }
        if let threads = self.concurrency, !(1...1024).contains(threads) {
            throw ValidationError("--concurrency must be between 1 and 1024")
        }
    }

    public func run() async throws {
        let (set, label) = self.load()
        for diagnostic in set.diagnostics where diagnostic.origin == .mirrord {
            Self.log(diagnostic.severity == .error ? "critical" : "warning", diagnostic.description)
        }
        guard set.isValid else {
            Self.log("critical", "error initializing configuration '\(label)': \(set.diagnostics.blockingErrors.count) error(s)")
            throw ExitCode(1)
        }
        if self.mode == .validate {
            print("configuration '\(label)' OK")
            return
        }
        let levels = LogLevelControl(Self.level(self.logLevel))
        LoggingSystem.bootstrap { label in
            LogLevelControl.Handler(inner: StreamLogHandler.standardError(label: label), control: levels)
        }
        let logger = Logger(label: "mirrord")
        logger.info("mirrord \(Self.version) loaded configuration '\(label)'")
        let threads = self.concurrency ?? System.coreCount
        logger.info("mirrord serves on \(threads) event-loop thread(s)")
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let server = ProxyServer(group: eventLoops, logger: logger, drainTime: .seconds(self.drainTimeSeconds),
                                 responderFactory: try RegistryMirrorFactory(group: eventLoops, logger: logger))
        let files: any ConfigFileSource = self.configPath == nil
            ? InMemoryFileSource(EmbeddedConfiguration.files) : DiskFileSource()
        let reloader = ConfigReloader(bootstrapPath: label, files: files, server: server, logger: logger)
        let service = ProxyService(server: server, reloader: reloader,
                                   watch: self.configPath == nil ? .none : self.watch,
                                   drainTime: .seconds(self.drainTimeSeconds), logger: logger,
                                   setLogLevel: { levels.set($0) })
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }

    static func level(_ name: String) -> Logger.Level {
        switch name.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "warning", "warn": return .warning
        case "error": return .error
        case "critical", "off": return .critical
        default: return .info
        }
    }

    func load() -> (ConfigSet, String) {
        if let path = self.configPath {
            return (ConfigLoader.load(paths: [path]), path)
        }
        let set = ConfigLoader.load(paths: [EmbeddedConfiguration.bootstrapPath],
                                    from: InMemoryFileSource(EmbeddedConfiguration.files))
        return (set, EmbeddedConfiguration.bootstrapPath)
    }

    /// Start-up messages before the logger exists (configuration problems), in swift-log's shape.
    static func log(_ level: String, _ message: String) {
        let line = "[\(Date().formatted(.iso8601))][\(level)] \(message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
