import Logging
import ProxyCore
import ServiceLifecycle

/// The data plane as a ServiceLifecycle service: serves until SIGTERM/SIGINT, then drains and returns.
struct ProxyService: Service {
    let server: ProxyServer
    let snapshot: ConfigSnapshot
    let drainTime: Duration
    let logger: Logger

    func run() async throws {
        let addresses = try await self.server.start(self.snapshot)
        for (name, address) in addresses.sorted(by: { $0.key < $1.key }) {
            self.logger.notice("mirrord listening: listener \(name) on \(address.hostPort)")
        }
        // Returns when a shutdown signal arrives (CancellationError if the group is cancelled instead).
        try? await gracefulShutdown()
        self.logger.notice("draining for up to \(self.drainTime)")
        await self.server.shutdown(drainTime: self.drainTime)
        self.logger.notice("mirrord stopped")
    }
}
