import Synchronization

/// A monotonically increasing counter, shared across event loops without locks.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)

    public func increment(by amount: Int = 1) { self.value.add(amount, ordering: .relaxed) }
    public var current: Int { self.value.load(ordering: .relaxed) }
}

/// A value that goes up and down (active connections, active requests).
public final class Gauge: Sendable {
    private let value = Atomic<Int>(0)

    public func increment() { self.value.add(1, ordering: .relaxed) }
    public func decrement() { self.value.subtract(1, ordering: .relaxed) }
    public func set(_ newValue: Int) { self.value.store(newValue, ordering: .relaxed) }
    public var current: Int { self.value.load(ordering: .relaxed) }
}

/// Every counter and gauge by its Envoy name (`http.ingress.downstream_rq_2xx`, `cluster.gcr.upstream_rq_total`).
///
/// Names are looked up once, when a listener or cluster is built; the hot path holds the objects.
public final class StatsStore: Sendable {
    private let counters = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])

    public init() {}

    public func counter(_ name: String) -> Counter {
        self.counters.withLock { counters in
            if let existing = counters[name] { return existing }
            let counter = Counter()
            counters[name] = counter
            return counter
        }
    }

    public func gauge(_ name: String) -> Gauge {
        self.gauges.withLock { gauges in
            if let existing = gauges[name] { return existing }
            let gauge = Gauge()
            gauges[name] = gauge
            return gauge
        }
    }

    public enum Kind: String, Sendable { case counter, gauge }

    /// All values by name, sorted, for `/stats` and tests.
    public func snapshot() -> [(name: String, value: Int, kind: Kind)] {
        let counters = self.counters.withLock { $0.map { ($0.key, $0.value.current, Kind.counter) } }
        let gauges = self.gauges.withLock { $0.map { ($0.key, $0.value.current, Kind.gauge) } }
        return (counters + gauges).sorted { $0.0 < $1.0 }.map { (name: $0.0, value: $0.1, kind: $0.2) }
    }

    public func value(_ name: String) -> Int? {
        if let counter = self.counters.withLock({ $0[name] }) { return counter.current }
        return self.gauges.withLock { $0[name] }?.current
    }
}

/// The counters of one HTTP connection manager (`http.<stat_prefix>.`). A class: the hot path reads one field.
public final class ConnectionManagerStats: Sendable {
    public let downstreamConnectionsTotal: Counter
    public let downstreamConnectionsActive: Gauge
    public let requestsTotal: Counter
    public let requestsActive: Gauge
    public let responses: [Counter]   // 1xx...5xx
    public let noRoute: Counter
    public let noCluster: Counter
    public let directResponses: Counter
    public let redirects: Counter
    public let requestTimeouts: Counter
    public let tooLarge: Counter
    public let protocolErrors: Counter
    public let drainClose: Counter
    public let http2Connections: Counter

    public init(prefix: String, store: StatsStore) {
        let base = "http.\(prefix)."
        self.downstreamConnectionsTotal = store.counter(base + "downstream_cx_total")
        self.downstreamConnectionsActive = store.gauge(base + "downstream_cx_active")
        self.requestsTotal = store.counter(base + "downstream_rq_total")
        self.requestsActive = store.gauge(base + "downstream_rq_active")
        self.responses = (1...5).map { store.counter(base + "downstream_rq_\($0)xx") }
        self.noRoute = store.counter(base + "no_route")
        self.noCluster = store.counter(base + "no_cluster")
        self.directResponses = store.counter(base + "rq_direct_response")
        self.redirects = store.counter(base + "rq_redirect")
        self.requestTimeouts = store.counter(base + "downstream_rq_timeout")
        self.tooLarge = store.counter(base + "downstream_rq_too_large")
        self.protocolErrors = store.counter(base + "downstream_cx_protocol_error")
        self.drainClose = store.counter(base + "downstream_cx_drain_close")
        self.http2Connections = store.counter(base + "downstream_cx_http2_total")
    }

    public func recordResponse(status: Int) {
        let index = status / 100 - 1
        if index >= 0, index < 5 { self.responses[index].increment() }
    }
}

/// The counters of one upstream cluster (`cluster.<name>.`). A class: the hot path reads one field.
public final class ClusterStats: Sendable {
    public let requestsTotal: Counter
    public let requestsActive: Gauge
    public let connectionsTotal: Counter
    public let connectionsActive: Gauge
    public let connectFailures: Counter
    public let connectTimeouts: Counter
    public let requestTimeouts: Counter
    public let pendingOverflow: Counter
    public let connectionOverflow: Counter
    public let noHealthyUpstream: Counter
    public let retries: Counter
    public let responseClasses: [Counter]
    public let resetsBeforeResponse: Counter
    public let dnsAttempts: Counter
    public let dnsSuccesses: Counter
    public let dnsFailures: Counter
    public let membership: Gauge
    public let membershipChanges: Counter
    public let tlsConnectionErrors: Counter
    public let tlsVerifySANFailures: Counter
    private let store: StatsStore
    private let base: String

    public init(cluster: String, store: StatsStore) {
        let base = "cluster.\(cluster)."
        self.base = base
        self.store = store
        self.requestsTotal = store.counter(base + "upstream_rq_total")
        self.requestsActive = store.gauge(base + "upstream_rq_active")
        self.connectionsTotal = store.counter(base + "upstream_cx_total")
        self.connectionsActive = store.gauge(base + "upstream_cx_active")
        self.connectFailures = store.counter(base + "upstream_cx_connect_fail")
        self.connectTimeouts = store.counter(base + "upstream_cx_connect_timeout")
        self.requestTimeouts = store.counter(base + "upstream_rq_timeout")
        self.pendingOverflow = store.counter(base + "upstream_rq_pending_overflow")
        self.connectionOverflow = store.counter(base + "upstream_cx_overflow")
        self.noHealthyUpstream = store.counter(base + "upstream_cx_none_healthy")
        self.retries = store.counter(base + "upstream_rq_retry")
        self.responseClasses = (1...5).map { store.counter(base + "upstream_rq_\($0)xx") }
        let common: Set<Int> = [200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 408, 409,
                                413, 416, 429, 500, 502, 503, 504]
        self.byStatus = (100..<600).map { common.contains($0) ? store.counter(base + "upstream_rq_\($0)") : nil }
        self.resetsBeforeResponse = store.counter(base + "upstream_rq_rx_reset")
        self.dnsAttempts = store.counter(base + "update_attempt")
        self.dnsSuccesses = store.counter(base + "update_success")
        self.dnsFailures = store.counter(base + "update_failure")
        self.membership = store.gauge(base + "membership_total")
        self.membershipChanges = store.counter(base + "membership_change")
        self.tlsConnectionErrors = store.counter(base + "ssl.connection_error")
        self.tlsVerifySANFailures = store.counter(base + "ssl.fail_verify_san")
    }

    /// Counters for each status code, made once each and then read without a lock.
    private let byStatus: [Counter?]

    public func recordResponse(status: Int) {
        let index = status / 100 - 1
        if index >= 0, index < 5 { self.responseClasses[index].increment() }
        if status >= 100, status < 600, let counter = self.byStatus[status - 100] {
            counter.increment()
        } else {
            self.store.counter(self.base + "upstream_rq_\(status)").increment()
        }
    }
}
