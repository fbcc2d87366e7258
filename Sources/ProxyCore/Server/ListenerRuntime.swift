import NIOCore
import ProxyConfig
import Synchronization

/// Everything a connection of one filter chain needs to serve a request: read once per request, so a
/// request keeps the routes and clusters it started with while a reload swaps in new ones.
public final class RoutingState: Sendable {
    public let manager: HTTPConnectionManager
    public let table: RouteTable
    public let clusters: ClusterManager
    public let stats: ConnectionManagerStats
    public let accessLoggers: [AccessLogger]
    public let listenerName: String
    /// Request bytes held while the upstream connection is being made (`per_connection_buffer_limit_bytes`).
    public let bufferLimit: Int
    /// The filter that answers some requests itself (the registry mirror), if the connection manager has one.
    public let responder: (any LocalResponder)?
    /// Fields of the connection manager read on every request, kept apart: reading them through `manager` can
    /// copy the whole manager (its route configuration included), which showed in profiles.
    let maxRequestHeadBytes: Int
    let maxHeadersCount: Int
    let useRemoteAddress: Bool
    let generateRequestID: Bool
    let mostSpecificHeaderMutationsWins: Bool
    let serverName: String
    let serverHeaderTransformation: HTTPConnectionManager.ServerHeaderTransformation
    let streamIdleTimeout: EnvoyDuration

    public init(listener: Listener, manager: HTTPConnectionManager, clusters: ClusterManager, stats: StatsStore,
                writers: AccessLogWriters, responder: (any LocalResponder)? = nil) {
        self.responder = responder
        self.listenerName = listener.name
        self.bufferLimit = listener.perConnectionBufferLimitBytes
        self.manager = manager
        self.maxRequestHeadBytes = manager.maxRequestHeadersKB * 1024
        self.maxHeadersCount = manager.maxHeadersCount
        self.useRemoteAddress = manager.useRemoteAddress
        self.generateRequestID = manager.generateRequestID
        self.mostSpecificHeaderMutationsWins = manager.routeConfig.mostSpecificHeaderMutationsWins
        self.serverName = manager.serverName
        self.serverHeaderTransformation = manager.serverHeaderTransformation
        self.streamIdleTimeout = manager.streamIdleTimeout
        self.table = RouteTable(manager.routeConfig)
        self.clusters = clusters
        self.stats = ConnectionManagerStats(prefix: manager.statPrefix, store: stats)
        self.accessLoggers = manager.accessLogs.map {
            AccessLogger(format: AccessLogFormat($0.format), writer: writers.writer(for: $0.path))
        }
    }
}

/// One writer per log file, shared by every listener that logs there.
public final class AccessLogWriters: Sendable {
    private let writers = Mutex<[String: AccessLogWriter]>([:])

    public init() {}

    public func writer(for path: String) -> AccessLogWriter {
        self.writers.withLock { writers in
            if let writer = writers[path] { return writer }
            let writer = AccessLogWriter(path: path)
            writers[path] = writer
            return writer
        }
    }

    public func flushAll() {
        for writer in self.writers.withLock({ Array($0.values) }) { writer.flush() }
    }
}

/// The live state of one listener's filter chain; a route-only reload replaces `current` in place.
public final class ChainRuntime: Sendable {
    private let state: Mutex<RoutingState>
    /// Set while the listener drains: responses then carry `Connection: close`.
    let draining = Atomic<Bool>(false)
    /// The downstream connections served by this chain (a replaced chain keeps its own until they end).
    let connections = ConnectionTracker()

    public init(_ state: RoutingState) { self.state = Mutex(state) }

    public var current: RoutingState { self.state.withLock { $0 } }
    public var isDraining: Bool { self.draining.load(ordering: .relaxed) }
    public func startDraining() { self.draining.store(true, ordering: .relaxed) }
    public func replace(with state: RoutingState) { self.state.withLock { $0 = state } }
}

/// What a listening socket hands new connections to. A listener change that keeps the address swaps the
/// chain here: new connections get the new one, existing ones finish on the old one, and the socket (with
/// its accept queue) is never closed, so no connection is refused or reset.
public final class ListenerSlot: Sendable {
    private let chain: Mutex<ChainRuntime>

    public init(_ chain: ChainRuntime) { self.chain = Mutex(chain) }

    public var current: ChainRuntime { self.chain.withLock { $0 } }

    /// Installs `next`; returns the chain it replaced.
    public func swap(_ next: ChainRuntime) -> ChainRuntime {
        self.chain.withLock { current in
            defer { current = next }
            return current
        }
    }
}
