import Logging
import NIOCore
import NIOSSL
import ProxyConfig
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One upstream host of a cluster, as the data plane dials it.
/// A class: exchanges, pools and counters hold it on every request, and one reference is cheaper to pass around
/// than three strings.
public final class UpstreamEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// What to dial: an IP address once DNS has answered.
    public let host: String
    public let port: Int
    /// The configured DNS name this address came from: SNI, certificate name and `auto_host_rewrite` use it.
    public let hostname: String?
    /// `host:port` (IPv6 in brackets), built once: every request's access log and default Host header use it.
    public let description: String

    /// The hash of what identifies the endpoint, computed once: pools and per-host counters look an endpoint up
    /// on every request, and hashing its three strings each time showed in profiles.
    private let identity: Int

    public init(host: String, port: Int, hostname: String? = nil) {
        self.host = host
        self.port = port
        self.hostname = hostname
        self.description = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hasher = Hasher()
        hasher.combine(host)
        hasher.combine(port)
        hasher.combine(hostname)
        self.identity = hasher.finalize()
    }

    public static func == (lhs: UpstreamEndpoint, rhs: UpstreamEndpoint) -> Bool {
        lhs.identity == rhs.identity && lhs.port == rhs.port && lhs.host == rhs.host && lhs.hostname == rhs.hostname
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(self.identity) }
}

/// A cluster ready for traffic: endpoints, load balancing, TLS, limits and stats. Immutable but for counters.
public final class UpstreamCluster: Sendable {
    public let config: Cluster
    public let stats: ClusterStats
    /// The configured endpoints; for DNS clusters, names to resolve.
    public let configuredEndpoints: [UpstreamEndpoint]
    /// The hosts traffic goes to now: the configured ones, or for DNS clusters the latest resolution.
    private let hosts: Mutex<[UpstreamEndpoint]>
    public var endpoints: [UpstreamEndpoint] { self.hosts.withLock { $0 } }
    let tlsContext: NIOSSLContext?
    let connectTimeout: TimeAmount
    let idleTimeout: TimeAmount
    let limits: CircuitBreakerThresholds
    private let roundRobin = Atomic<Int>(0)
    /// Envoy's per-host counters, one object per host: an exchange looks its host's up once and then only counts.
    private let hostCounters = Mutex<[UpstreamEndpoint: HostCounters]>([:])

    /// The counters of `endpoint`, made on first use.
    func counters(for endpoint: UpstreamEndpoint) -> HostCounters {
        self.hostCounters.withLock { table in
            if let counters = table[endpoint] { return counters }
            let counters = HostCounters()
            table[endpoint] = counters
            return counters
        }
    }

    /// Hosts that have counters (tests: the table follows DNS answers).
    var countedHosts: Set<UpstreamEndpoint> { self.hostCounters.withLock { Set($0.keys) } }

    /// The per-host counters, in Envoy's `/clusters` order.
    public func hostStats(_ endpoint: UpstreamEndpoint) -> [(String, Int)] {
        self.counters(for: endpoint).snapshot
    }
    let activeRequests = Atomic<Int>(0)
    /// Keep-alive pools, one per event loop.
    private let pools = Mutex<[ObjectIdentifier: ConnectionPool]>([:])
    private let retired = Atomic<Bool>(false)
    let openConnections = Atomic<Int>(0)
    let pendingRequests = Atomic<Int>(0)

    public init(_ config: Cluster, stats: StatsStore) throws {
        self.config = config
        self.stats = ClusterStats(cluster: config.name, store: stats)
        let configured = config.allEndpoints.map {
            UpstreamEndpoint(host: $0.address.address, port: $0.address.portValue,
                             hostname: $0.hostname ?? ($0.address.isIPLiteral ? nil : $0.address.address))
        }
        self.configuredEndpoints = configured
        self.hosts = Mutex(config.discovery == .STATIC ? configured : [])
        self.connectTimeout = .nanoseconds(config.connectTimeout.nanoseconds)
        self.idleTimeout = .nanoseconds((config.protocolOptions?.idleTimeout ?? .seconds(3600)).nanoseconds)
        self.limits = config.circuitBreakers.first { $0.priority == .DEFAULT } ?? .defaults
        let insecure = config.mirrordOptions?.insecureSkipTLSVerify ?? false
        self.tlsContext = try config.tls.map { try UpstreamTLSContextFactory.makeContext($0, verify: !insecure) }
    }

    /// The next endpoint by the cluster's policy, or nil when it has none (503, flag UH).
    func pickEndpoint() -> UpstreamEndpoint? {
        var generator = SystemRandomNumberGenerator()
        return self.pickEndpoint(using: &generator)
    }

    func pickEndpoint<Generator: RandomNumberGenerator>(using generator: inout Generator) -> UpstreamEndpoint? {
        let endpoints = self.endpoints
        guard !endpoints.isEmpty else { return nil }
        switch self.config.lbPolicy {
        case .RANDOM:
            return endpoints.randomElement(using: &generator)
        case .LEAST_REQUEST where endpoints.count > 1:
            // Envoy's default: the less loaded of two hosts picked at random ("power of two choices").
            let first = endpoints.randomElement(using: &generator)!
            var second = endpoints.randomElement(using: &generator)!
            if second == first { second = endpoints[(endpoints.firstIndex(of: first)! + 1) % endpoints.count] }
            let load = (self.activeRequests(on: first), self.activeRequests(on: second))
            return load.1 < load.0 ? second : first
        default:
            let index = self.roundRobin.add(1, ordering: .relaxed).oldValue
            return endpoints[index % endpoints.count]
        }
    }

    /// Counts a request to `endpoint`; the exchange keeps the counters it returns for its answer and its end.
    @discardableResult
    func hostStarted(_ endpoint: UpstreamEndpoint) -> HostCounters {
        let counters = self.counters(for: endpoint)
        counters.rqTotal.add(1, ordering: .relaxed)
        counters.rqActive.add(1, ordering: .relaxed)
        return counters
    }

    /// Requests in flight to one host (LEAST_REQUEST, tests and `/clusters`).
    public func activeRequests(on endpoint: UpstreamEndpoint) -> Int {
        self.counters(for: endpoint).rqActive.load(ordering: .relaxed)
    }

    /// Whether `endpoint` is still one of the cluster's hosts (a pooled connection to a removed host is not reused).
    func hasHost(_ endpoint: UpstreamEndpoint) -> Bool {
        self.config.discovery != .STRICT_DNS || self.hosts.withLock { $0.contains(endpoint) }
    }

    public var usesDNS: Bool { self.config.discovery == .STRICT_DNS || self.config.discovery == .LOGICAL_DNS }

    /// One DNS refresh: STRICT_DNS takes every address of every name, LOGICAL_DNS the first address of its one name.
    /// A failed lookup keeps the previous hosts; a successful empty answer leaves the cluster without hosts.
    public func refreshDNS(using resolver: any DNSResolver) async {
        var resolved: [UpstreamEndpoint] = []
        var failed = false
        for endpoint in self.configuredEndpoints {
            do {
                let addresses = try await resolver.resolve(endpoint.host, family: self.config.dnsLookupFamily)
                let chosen = self.config.discovery == .LOGICAL_DNS ? Array(addresses.prefix(1)) : addresses
                resolved += chosen.map { UpstreamEndpoint(host: $0, port: endpoint.port, hostname: endpoint.hostname) }
            } catch {
                failed = true
                self.stats.dnsFailures.increment()
            }
        }
        self.stats.dnsAttempts.increment()
        if failed && resolved.isEmpty { return }
        if !failed { self.stats.dnsSuccesses.increment() }
        var seen = Set<UpstreamEndpoint>()
        let unique = resolved.filter { seen.insert($0).inserted }
        let previous = self.hosts.withLock { hosts in
            defer { hosts = unique }
            return hosts
        }
        self.stats.membership.set(unique.count)
        // Counters of hosts the answers dropped go once nothing uses them (as Envoy's host stats go with the
        // host), so a name whose addresses rotate does not grow the table for as long as mirrord runs.
        self.hostCounters.withLock { table in
            table = table.filter { seen.contains($0.key) || !$0.value.isIdle }
        }
        if previous != unique {
            self.stats.membershipChanges.increment()
            // Envoy drains the pools of hosts a DNS answer removed (LOGICAL_DNS connections are never drained).
            if self.config.discovery == .STRICT_DNS {
                let current = seen
                for pool in self.pools.withLock({ Array($0.values) }) {
                    pool.eventLoop.execute { pool.closeConnections(toHostsNotIn: current) }
                }
            }
        }
    }

    /// The name TLS is verified against and sent as SNI: `sni`, else the endpoint's host name for DNS clusters.
    func serverHostname(for endpoint: UpstreamEndpoint, authority: String?) -> String? {
        guard let tls = self.config.tls else { return nil }
        if let sni = tls.sni, !sni.isEmpty { return sni }
        if self.config.protocolOptions?.autoSNI == true, let authority { return RouteTable.stripPort(authority) }
        return endpoint.hostname ?? (IPAddress.isLiteral(endpoint.host) ? nil : endpoint.host)
    }

    /// Circuit breaker on requests: false means overflow (503, flag UO).
    func admitRequest() -> Bool {
        let previous = self.activeRequests.add(1, ordering: .relaxed).oldValue
        if previous >= self.limits.maxRequests {
            self.activeRequests.subtract(1, ordering: .relaxed)
            return false
        }
        self.stats.requestsActive.increment()
        return true
    }

    /// The pool of this cluster on `loop`, made on first use.
    func pool(on loop: any EventLoop) -> ConnectionPool {
        let key = ObjectIdentifier(loop)
        let (pool, created) = self.pools.withLock { pools -> (ConnectionPool, Bool) in
            if let pool = pools[key] { return (pool, false) }
            let pool = ConnectionPool(eventLoop: loop, cluster: self)
            pools[key] = pool
            return (pool, true)
        }
        if created, self.retired.load(ordering: .relaxed) { loop.execute { pool.close() } }
        return pool
    }

    /// The cluster was removed or replaced: idle connections close now, busy ones when their exchange ends.
    public func retire() {
        self.retired.store(true, ordering: .relaxed)
        for pool in self.pools.withLock({ Array($0.values) }) { pool.eventLoop.execute { pool.close() } }
    }

    public var isRetired: Bool { self.retired.load(ordering: .relaxed) }

    /// Circuit breaker on requests waiting for a connection: false means overflow (503, flag UO).
    func beginPending() -> Bool {
        if self.pendingRequests.add(1, ordering: .relaxed).oldValue >= self.limits.maxPendingRequests {
            self.pendingRequests.subtract(1, ordering: .relaxed)
            self.stats.pendingOverflow.increment()
            return false
        }
        return true
    }

    func endPending() { self.pendingRequests.subtract(1, ordering: .relaxed) }

    func requestFinished() {
        self.activeRequests.subtract(1, ordering: .relaxed)
        self.stats.requestsActive.decrement()
    }
}

/// Builds the TLS client context of a cluster: verification on by default, against the configured CA or the system store.
public enum UpstreamTLSContextFactory {
    public static func makeContext(_ tls: UpstreamTLS, verify: Bool) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = verify ? .fullVerification : .none
        configuration.applicationProtocols = tls.common.alpnProtocols.isEmpty ? ["http/1.1"]
            : tls.common.alpnProtocols.filter { $0 == "http/1.1" }
        if let ca = tls.common.validation?.trustedCA {
            switch ca {
            case .filename(let path):
                configuration.trustRoots = .file(path)
            case .inlineString(let pem), .inlineBytes(let pem):
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
            case .environmentVariable(let name):
                guard let pem = ProcessInfoEnvironment.value(name) else {
                    throw UpstreamError.tlsConfiguration("environment variable \(name) is not set")
                }
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
            }
        }
        if let certificate = tls.common.certificates.first {
            configuration.certificateChain = try Self.certificates(certificate.certificateChain).map { .certificate($0) }
            configuration.privateKey = .privateKey(try Self.privateKey(certificate.privateKey))
        }
        switch tls.common.minimumProtocol {
        case .TLSv1_3: configuration.minimumTLSVersion = .tlsv13
        case .TLSv1_2, .TLS_AUTO: configuration.minimumTLSVersion = .tlsv12
        case .TLSv1_1: configuration.minimumTLSVersion = .tlsv11
        case .TLSv1_0: configuration.minimumTLSVersion = .tlsv1
        }
        return try NIOSSLContext(configuration: configuration)
    }

    static func certificates(_ source: DataSource) throws -> [NIOSSLCertificate] {
        switch source {
        case .filename(let path): return try NIOSSLCertificate.fromPEMFile(path)
        case .inlineString(let pem), .inlineBytes(let pem): return try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
        case .environmentVariable(let name):
            return try NIOSSLCertificate.fromPEMBytes(Array((ProcessInfoEnvironment.value(name) ?? "").utf8))
        }
    }

    static func privateKey(_ source: DataSource) throws -> NIOSSLPrivateKey {
        switch source {
        case .filename(let path): return try NIOSSLPrivateKey(file: path, format: .pem)
        case .inlineString(let pem), .inlineBytes(let pem): return try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem)
        case .environmentVariable(let name):
            return try NIOSSLPrivateKey(bytes: Array((ProcessInfoEnvironment.value(name) ?? "").utf8), format: .pem)
        }
    }
}

enum ProcessInfoEnvironment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}

/// Why a request could not be sent upstream; each maps to Envoy's status and response flag.
public enum UpstreamError: Error, Sendable, Equatable {
    case noHealthyUpstream
    case connectFailure(String)
    case connectTimeout
    case overflow
    case resetBeforeResponse
    case tlsConfiguration(String)
}
