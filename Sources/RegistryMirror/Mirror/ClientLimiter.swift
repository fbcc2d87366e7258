import Synchronization

/// Concurrent registry requests per client address (`max_requests_per_client`): one client's burst cannot take
/// every upstream connection and all the bandwidth of a shared mirror. Zero means no limit.
final class ClientLimiter: Sendable {
    let limit: Int
    private let active = Mutex<[String: Int]>([:])

    init(limit: Int) { self.limit = limit }

    func begin(_ client: String) -> Bool {
        guard self.limit > 0 else { return true }
        return self.active.withLock { active in
            let current = active[client, default: 0]
            guard current < self.limit else { return false }
            active[client] = current + 1
            return true
        }
    }

    func end(_ client: String) {
        guard self.limit > 0 else { return }
        self.active.withLock { active in
            let remaining = active[client, default: 1] - 1
            active[client] = remaining > 0 ? remaining : nil
        }
    }
}
