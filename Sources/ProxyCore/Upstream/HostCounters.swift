import Synchronization

/// Envoy's per-host counters of one upstream host (`/clusters`), as atomics: an exchange finds its host's
/// counters once and every later count is one atomic add, where a table keyed by host and counter name took
/// a lock and two hash lookups per count.
final class HostCounters: Sendable {
    let cxActive = Atomic<Int>(0)
    let cxConnectFail = Atomic<Int>(0)
    let cxTotal = Atomic<Int>(0)
    let rqActive = Atomic<Int>(0)
    let rqError = Atomic<Int>(0)
    let rqSuccess = Atomic<Int>(0)
    let rqTimeout = Atomic<Int>(0)
    let rqTotal = Atomic<Int>(0)

    /// An answer from this host: a 5xx counts as an error, anything else as a success.
    func countAnswer(status: Int) {
        if status >= 500 { self.rqError.add(1, ordering: .relaxed) } else { self.rqSuccess.add(1, ordering: .relaxed) }
    }

    /// A request to this host ended (answered, failed or cut).
    func requestFinished() {
        self.rqActive.subtract(1, ordering: .relaxed)
    }

    /// No request or connection to this host is open.
    var isIdle: Bool { self.rqActive.load(ordering: .relaxed) == 0 && self.cxActive.load(ordering: .relaxed) == 0 }

    /// Name and value of each counter, in Envoy's `/clusters` order.
    var snapshot: [(String, Int)] {
        [("cx_active", self.cxActive.load(ordering: .relaxed)),
         ("cx_connect_fail", self.cxConnectFail.load(ordering: .relaxed)),
         ("cx_total", self.cxTotal.load(ordering: .relaxed)),
         ("rq_active", self.rqActive.load(ordering: .relaxed)),
         ("rq_error", self.rqError.load(ordering: .relaxed)),
         ("rq_success", self.rqSuccess.load(ordering: .relaxed)),
         ("rq_timeout", self.rqTimeout.load(ordering: .relaxed)),
         ("rq_total", self.rqTotal.load(ordering: .relaxed))]
    }
}
