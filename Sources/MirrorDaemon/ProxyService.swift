import Logging
import ProxyConfig
import ProxyCore
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// The data plane as a ServiceLifecycle service: loads the configuration, serves, reloads on file changes and
/// SIGHUP, and on SIGTERM/SIGINT drains and returns.
struct ProxyService: Service {
    let server: ProxyServer
    let reloader: ConfigReloader
    /// `.none` for the embedded configuration: there are no files to watch.
    let watch: MirrordCommand.WatchMode
    let drainTime: Duration
    let logger: Logger
    /// `POST /logging?level=`: changes the level of every logger at once.
    let setLogLevel: @Sendable (String) -> Bool

    func run() async throws {
        _ = try await self.reloader.initialLoad()
        for (name, address) in (self.server.currentSnapshot?.listeners ?? []).compactMap({ listener in
            self.server.address(of: listener.name).map { (listener.name, $0) }
        }) {
            self.logger.notice("mirrord listening: listener \(name) on \(address.hostPort)")
        }
        var admin: AdminServer?
        if let address = self.reloader.bootstrap?.admin?.address {
            let server = AdminServer(server: self.server, reloader: self.reloader, node: self.reloader.bootstrap?.node,
                                     hooks: .init(quit: { kill(getpid(), SIGTERM) }, setLogLevel: self.setLogLevel))
            let bound = try await server.start(host: address.address, port: address.portValue)
            self.logger.notice("admin listening on \(bound?.hostPort ?? address.description)")
            admin = server
        }
        let trigger = ReloadTrigger(reloader: self.reloader)
        var watcher: DirectoryWatcher?
        if self.watch != .none {
            let paths = self.reloader.watchedPaths()
            let created = DirectoryWatcher(files: paths.files, extraDirectories: paths.directories,
                                           forcePolling: self.watch == .poll) { name in
                trigger.fire(reason: name.isEmpty ? "file change" : "change to \(name)")
            }
            created.start()
            watcher = created
            self.logger.info("watching \(paths.files.joined(separator: ", ")) (\(created.mode.rawValue))")
        }
        let signals = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) { trigger.fire(reason: "SIGHUP", force: true) }
        }
        // Returns when a shutdown signal arrives (CancellationError if the group is cancelled instead).
        try? await gracefulShutdown()
        admin?.markShuttingDown()
        signals.cancel()
        watcher?.stop()
        self.logger.notice("draining for up to \(self.drainTime)")
        await self.server.shutdown(drainTime: self.drainTime)
        await admin?.stop()
        self.logger.notice("mirrord stopped")
    }
}
