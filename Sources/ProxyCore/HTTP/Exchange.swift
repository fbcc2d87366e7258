import Foundation
import NIOCore
import NIOHTTP1
import ProxyConfig

/// One request being proxied: what routing decided, the upstream connection, and what has gone each way.
final class Exchange {
    let state: RoutingState
    let requestHead: HTTP1Head
    /// The request's `host`, as routing read it.
    let requestHost: String
    let decision: RouteDecision
    let plan: ForwardingPlan
    let cluster: UpstreamCluster
    let pool: ConnectionPool
    /// Whether the downstream connection stays open after this exchange (a response that can only end with the
    /// connection, to an HTTP/1.0 client, turns it off).
    var keepAlive: Bool
    let started: NIODeadline
    var log: AccessLogEntry

    var endpoint: UpstreamEndpoint?
    /// The per-host counters of `endpoint`, found once when it was picked.
    var hostCounters: HostCounters?
    var connection: UpstreamConnection?
    /// Request parts that arrived before the upstream connection was ready.
    var pendingParts: [UpstreamRequestPart] = []
    var pendingBytes = 0
    var requestEnded = false
    var responseHeadSent = false
    var responseEnded = false
    var responseStatus = 0
    var upstreamStarted: NIODeadline?
    var retriesLeft: Int
    /// What the retry policy retries on: connection failures, and which upstream statuses.
    let retryOnConnectFailure: Bool
    private let retryOn5xx: Bool
    private let retryOnGatewayErrors: Bool
    private let retriableCodes: [Int]
    /// The request as sent, kept while it is small so a retry can send it again; nil once too large.
    var replayParts: [UpstreamRequestPart]? = []
    var replayBytes = 0
    static let replayLimit = 64 * 1024
    /// Header mutations of each level, most specific first, gathered once per exchange.
    let requestLevels: [HeaderMutations]
    let responseLevels: [HeaderMutations]
    /// When the route timeout expires, from the end of the request; the connection's watchdog enforces it.
    var routeDeadline: NIODeadline?
    /// The idle timeout in force, measured from `lastActivity`.
    var idleLimit: TimeAmount?
    /// When a byte last moved either way, for the idle timeout.
    var lastActivity: NIODeadline
    private var completed = false

    /// The downstream is an HTTP/2 stream: connection-specific headers must not be sent on it.
    let http2: Bool

    /// The head, decision and log entry are handed over, not copied (each copy retains what they hold).
    init(state: RoutingState, head: consuming HTTP1Head, host: String, keepAlive: Bool, decision: consuming RouteDecision,
         plan: ForwardingPlan, cluster: UpstreamCluster, pool: ConnectionPool, log: consuming AccessLogEntry,
         http2: Bool = false) {
        let now = NIODeadline.now()
        self.started = now
        self.lastActivity = now
        self.http2 = http2
        self.state = state
        self.requestHead = head
        self.requestHost = host
        self.decision = decision
        self.plan = plan
        self.cluster = cluster
        self.pool = pool
        self.keepAlive = keepAlive
        self.log = log
        let policy = plan.retryPolicy
        // Read once per exchange without building sets: most routes name no conditions at all.
        var onConnectFailure = false, on5xx = false, onGatewayErrors = false, onRetriableCodes = false
        for condition in policy?.retryOn ?? [] {
            switch condition {
            case "5xx": on5xx = true; onConnectFailure = true
            case "gateway-error": onGatewayErrors = true; onConnectFailure = true
            case "connect-failure", "reset": onConnectFailure = true
            case "retriable-status-codes": onRetriableCodes = true
            default: break
            }
        }
        self.retryOnConnectFailure = onConnectFailure
        self.retryOn5xx = on5xx
        self.retryOnGatewayErrors = onGatewayErrors
        self.retriableCodes = onRetriableCodes ? policy?.retriableStatusCodes ?? [] : []
        self.retriesLeft = policy.map { min($0.numRetries, cluster.limits.maxRetries) } ?? 0
        // Only an upstream status can make a sent request go again; without such a policy nothing is kept.
        if self.retriesLeft == 0 || !(on5xx || onGatewayErrors || !self.retriableCodes.isEmpty) { self.replayParts = nil }
        let levels = plan.levels(forCluster: cluster.config.name)
        self.requestLevels = levels.request
        self.responseLevels = levels.response
    }

    /// Whether the retry policy retries an upstream answer with this status.
    func retriableStatuses(_ status: Int) -> Bool {
        (self.retryOn5xx && status >= 500 && status < 600)
            || (self.retryOnGatewayErrors && (status == 502 || status == 503 || status == 504))
            || self.retriableCodes.contains(status)
    }

    /// Records a request part as sent upstream, keeping it for a retry while the request stays small.
    func sent(_ part: UpstreamRequestPart) {
        guard self.replayParts != nil else { return }
        if case .body(let data) = part { self.replayBytes += data.readableBytes }
        if self.replayBytes > Self.replayLimit {
            self.replayParts = nil
        } else {
            self.replayParts?.append(part)
        }
    }

    /// The one place an exchange gives back what it held: cluster and host request counts, timers, gauges.
    func complete() {
        guard !self.completed else { return }
        self.completed = true
        self.clearDeadlines()
        self.cluster.requestFinished()
        self.hostCounters?.requestFinished()
        self.state.stats.requestsActive.decrement()
    }

    /// The request head sent upstream: rewritten path and host, proxy headers, the configured mutations.
    func upstreamHead(remoteAddress: String?, endpoint: UpstreamEndpoint, random: inout FastRandom,
                      allocator: ByteBufferAllocator) -> EncodedHead {
        var headers = HeadEditor(self.requestHead)
        headers.removeHopByHop()
        let state = self.state
        if state.useRemoteAddress, let remoteAddress {
            let existing = headers.values(named: "x-forwarded-for").joined(separator: ", ")
            headers.replaceOrAdd(name: "x-forwarded-for", value: existing.isEmpty ? remoteAddress : "\(existing), \(remoteAddress)")
            headers.replaceOrAdd(name: "x-forwarded-proto", value: "http")
        } else if !headers.contains(name: "x-forwarded-proto") {
            headers.add(name: "x-forwarded-proto", value: "http")
        }
        if state.generateRequestID, !headers.contains(name: "x-request-id") {
            headers.add(name: "x-request-id", value: HeaderRules.requestID(using: &random))
        }
        for (name, value) in self.decision.addedHeaders { headers.replaceOrAdd(name: name, value: value) }
        // auto_host_rewrite: the endpoint's DNS name, else (an IP endpoint) the request's own host.
        headers.replaceOrAdd(name: "host", value: self.decision.upstreamHost ?? endpoint.hostname ?? self.requestHost)
        if !self.plan.timeout.isZero {
            headers.replaceOrAdd(name: "x-envoy-expected-rq-timeout-ms", value: String(self.plan.timeout.milliseconds))
        }
        HeaderRules.applyLevels(self.requestLevels, mostSpecificWins: state.mostSpecificHeaderMutationsWins,
                                to: &headers)
        // A configured mutation may not reintroduce a connection-level header (removeHopByHop took the client's).
        if !self.requestLevels.isEmpty { headers.remove(name: "connection") }
        if case .length(let length) = self.requestHead.framing, self.requestHead.hasIrregularContentLength {
            headers.replaceOrAdd(name: "content-length", value: String(length))
        }
        return EncodedHead(bytes: headers.encodeRequest(target: self.decision.upstreamPath, allocator: allocator),
                           chunked: self.requestHead.framing == .chunked, isHEAD: self.requestHead.isHEAD)
    }

    /// The response head sent downstream: hop-by-hop headers gone, mutations applied, `server` per configuration,
    /// and the body framed for the client (a body that ends with the upstream connection is chunked for an
    /// HTTP/1.1 client; an HTTP/1.0 client gets it unframed and the connection closes after it).
    func downstreamHead(_ upstream: HTTP1Head, draining: Bool, now: NIODeadline, allocator: ByteBufferAllocator) -> EncodedHead {
        var headers = HeadEditor(upstream)
        headers.removeHopByHop()
        HeaderRules.applyLevels(self.responseLevels,
                                mostSpecificWins: self.state.mostSpecificHeaderMutationsWins, to: &headers)
        HeaderRules.applyServerHeader(self.state, to: &headers)
        if let started = self.upstreamStarted {
            let milliseconds = (now - started).nanoseconds / 1_000_000
            headers.replaceOrAdd(name: "x-envoy-upstream-service-time", value: String(milliseconds))
            self.log.upstreamServiceTimeMilliseconds = Int(milliseconds)
        }
        var chunked = false
        if self.http2 {
            for name in ["transfer-encoding", "connection", "keep-alive", "upgrade", "proxy-connection"] {
                headers.remove(name: name)
            }
        } else {
            let oldClient = self.requestHead.version.minor == 0
            if case .length(let length) = upstream.framing, upstream.hasIrregularContentLength {
                headers.replaceOrAdd(name: "content-length", value: String(length))
            }
            switch upstream.framing {
            case .chunked where oldClient:
                headers.remove(name: "transfer-encoding")
                self.keepAlive = false
            case .chunked:
                chunked = true
            case .untilClose where oldClient:
                self.keepAlive = false
            case .untilClose:
                headers.add(name: "transfer-encoding", value: "chunked")
                chunked = true
            default:
                break
            }
            if !self.keepAlive || draining { headers.replaceOrAdd(name: "connection", value: "close") }
        }
        return EncodedHead(bytes: headers.encodeResponse(version: self.requestHead.version, allocator: allocator),
                           chunked: chunked)
    }

    /// Gives the upstream connection back to the pool, which keeps it only when `reusable` and still sound.
    func releaseUpstream(reusable: Bool) {
        guard let connection = self.connection else { return }
        connection.handler.receiver = nil
        if !reusable { connection.handler.invalidate() }
        self.pool.release(connection)
        self.connection = nil
    }

    /// Cuts the upstream connection mid-exchange: closed at once, never offered for reuse.
    func abandonUpstream() {
        guard let connection = self.connection else { return }
        connection.handler.receiver = nil
        connection.handler.invalidate()
        connection.channel.close(promise: nil)
        self.connection = nil
    }

    /// Nothing is enforced on this exchange any more; the watchdog finds no deadline when it next fires.
    func clearDeadlines() {
        self.routeDeadline = nil
        self.idleLimit = nil
    }

    /// The earliest moment the watchdog must look at this exchange again.
    var nextDeadline: NIODeadline? {
        let idle = self.idleLimit.map { self.lastActivity + $0 }
        switch (self.routeDeadline, idle) {
        case (let route?, let idle?): return min(route, idle)
        case (let route, let idle): return route ?? idle
        }
    }
}

