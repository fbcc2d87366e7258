import Synchronization

/// Turns bursts of change notifications (a watcher event, SIGHUP, an admin call) into single reloads.
///
/// Editors and `cp` produce several events per save; each notification restarts a short quiet period, and
/// the reload runs when it ends. Reloads never overlap.
public final class ReloadTrigger: Sendable {
    private let reloader: ConfigReloader
    private let quietPeriod: Duration
    private let pending = Mutex<Task<Void, Never>?>(nil)
    private let queue = AsyncSerialQueue()

    public init(reloader: ConfigReloader, quietPeriod: Duration = .milliseconds(25)) {
        self.reloader = reloader
        self.quietPeriod = quietPeriod
    }

    public func fire(reason: String, force: Bool = false) {
        let quiet = self.quietPeriod
        let reloader = self.reloader
        let queue = self.queue
        let task = Task {
            try? await Task.sleep(for: quiet)
            guard !Task.isCancelled else { return }
            _ = try? await queue.run { await reloader.reload(reason: reason, force: force) }
        }
        self.pending.withLock { previous in
            previous?.cancel()
            previous = task
        }
    }

    /// Reloads now, waiting for the result (SIGHUP tests, `POST /reload`).
    @discardableResult
    public func reloadNow(reason: String) async -> ConfigReloader.Outcome {
        let reloader = self.reloader
        return (try? await self.queue.run { await reloader.reload(reason: reason, force: true) }) ?? .unchanged
    }
}
