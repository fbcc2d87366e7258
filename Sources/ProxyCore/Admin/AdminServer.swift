import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ProxyConfig
import Synchronization

/// The admin endpoint on `admin.address`: Envoy's paths and shapes where Envoy has them. It has no
/// authentication, which is why mirrord warns about any non-loopback admin address.
public final class AdminServer: Sendable {
    public struct Hooks: Sendable {
        public var quit: @Sendable () -> Void
        public var setLogLevel: @Sendable (String) -> Bool

        public init(quit: @escaping @Sendable () -> Void, setLogLevel: @escaping @Sendable (String) -> Bool) {
            self.quit = quit
            self.setLogLevel = setLogLevel
        }
    }

    let server: ProxyServer
    let reloader: ConfigReloader?
    let node: Bootstrap.NodeIdentity?
    let hooks: Hooks
    let started = Date()
    let healthCheckFailed = Atomic<Bool>(false)
    let shuttingDown = Atomic<Bool>(false)
    private let channel = Mutex<(any Channel)?>(nil)

    public init(server: ProxyServer, reloader: ConfigReloader?, node: Bootstrap.NodeIdentity?, hooks: Hooks) {
        self.server = server
        self.reloader = reloader
        self.node = node
        self.hooks = hooks
    }

    @discardableResult
    public func start(host: String, port: Int) async throws -> NIOCore.SocketAddress? {
        let bootstrap = ServerBootstrap(group: self.server.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(admin: self))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        self.channel.withLock { $0 = channel }
        return channel.localAddress
    }

    public func stop() async {
        try? await self.channel.withLock { $0 }?.close()
    }

    /// Marks the server as shutting down: `/ready` answers 503 `DRAINING` from now on.
    public func markShuttingDown() { self.shuttingDown.store(true, ordering: .relaxed) }

    public var state: String {
        self.healthCheckFailed.load(ordering: .relaxed) || self.shuttingDown.load(ordering: .relaxed) ? "DRAINING" : "LIVE"
    }

    /// One admin answer.
    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var contentType: String
        public var body: String
    }

    static let getPaths = ["/", "/help", "/ready", "/server_info", "/config_dump", "/clusters", "/listeners", "/stats",
                           "/stats/prometheus"]
    static let postPaths = ["/healthcheck/fail", "/healthcheck/ok", "/drain_listeners", "/quitquitquit", "/logging",
                            "/reload"]

    public func respond(method: HTTPMethod, uri: String) async -> Response {
        let (path, query) = Self.split(uri)
        if Self.postPaths.contains(path) {
            guard method == .POST else {
                return Response(status: .methodNotAllowed, contentType: "text/plain", body: "Method \(method.rawValue) not allowed, POST required.\n")
            }
            return await self.post(path, query: query)
        }
        guard Self.getPaths.contains(path) else {
            return Response(status: .notFound, contentType: "text/plain",
                            body: "invalid path. admin commands are:\n" + self.help())
        }
        let json = query["format"] == "json"
        switch path {
        case "/", "/help": return .init(status: .ok, contentType: "text/plain", body: self.help())
        case "/ready":
            let state = self.state
            return .init(status: state == "LIVE" ? .ok : .serviceUnavailable, contentType: "text/plain", body: state + "\n")
        case "/server_info": return .init(status: .ok, contentType: "application/json", body: AdminViews.serverInfo(self))
        case "/config_dump": return .init(status: .ok, contentType: "application/json", body: AdminViews.configDump(self))
        case "/clusters":
            return .init(status: .ok, contentType: json ? "application/json" : "text/plain",
                         body: json ? AdminViews.clustersJSON(self) : AdminViews.clustersText(self))
        case "/listeners":
            return .init(status: .ok, contentType: json ? "application/json" : "text/plain",
                         body: json ? AdminViews.listenersJSON(self) : AdminViews.listenersText(self))
        case "/stats/prometheus":
            return .init(status: .ok, contentType: "text/plain; version=0.0.4", body: AdminViews.prometheus(self))
        case "/stats":
            if query["format"] == "prometheus" { return .init(status: .ok, contentType: "text/plain; version=0.0.4", body: AdminViews.prometheus(self)) }
            guard let stats = AdminViews.stats(self, filter: query["filter"], usedOnly: query["usedonly"] != nil) else {
                return .init(status: .badRequest, contentType: "text/plain", body: "Invalid regex: \(query["filter"] ?? "")\n")
            }
            return .init(status: .ok, contentType: json ? "application/json" : "text/plain",
                         body: json ? AdminViews.statsJSON(stats) : stats.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n")
        default: return .init(status: .notFound, contentType: "text/plain", body: "invalid path\n")
        }
    }

    private func post(_ path: String, query: [String: String]) async -> Response {
        switch path {
        case "/healthcheck/fail":
            self.healthCheckFailed.store(true, ordering: .relaxed)
            return .init(status: .ok, contentType: "text/plain", body: "OK\n")
        case "/healthcheck/ok":
            self.healthCheckFailed.store(false, ordering: .relaxed)
            return .init(status: .ok, contentType: "text/plain", body: "OK\n")
        case "/drain_listeners":
            await self.server.drainListeners()
            return .init(status: .ok, contentType: "text/plain", body: "OK\n")
        case "/quitquitquit":
            self.hooks.quit()
            return .init(status: .ok, contentType: "text/plain", body: "OK\n")
        case "/reload":
            guard let reloader = self.reloader else {
                return .init(status: .badRequest, contentType: "text/plain", body: "no configuration files to reload\n")
            }
            let outcome = await ReloadTrigger(reloader: reloader).reloadNow(reason: "admin /reload")
            return .init(status: .ok, contentType: "text/plain", body: "\(outcome)\n")
        case "/logging":
            guard let level = query["level"] else {
                return .init(status: .ok, contentType: "text/plain", body: "active loggers:\n  mirrord\n")
            }
            guard self.hooks.setLogLevel(level) else {
                return .init(status: .badRequest, contentType: "text/plain", body: "unknown level '\(level)'\n")
            }
            return .init(status: .ok, contentType: "text/plain", body: "OK\n")
        default:
            return .init(status: .notFound, contentType: "text/plain", body: "invalid path\n")
        }
    }

    func help() -> String {
        Self.getPaths.filter { $0 != "/" }.map { "  \($0)\n" }.joined() + Self.postPaths.map { "  \($0) (POST)\n" }.joined()
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(kv[0])] = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            }
        }
        return (String(parts[0]), query)
    }
}

/// Reads one admin request and writes the answer; the views run off the event loop.
private final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let admin: AdminServer
    var head: HTTPRequestHead?

    init(admin: AdminServer) { self.admin = admin }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head = self.head else { return }
            let admin = self.admin
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let promise = context.eventLoop.makePromise(of: AdminServer.Response.self)
            promise.completeWithTask { await admin.respond(method: head.method, uri: head.uri) }
            promise.futureResult.whenSuccess { response in
                let (handler, context) = loopBound.value
                handler.write(response, keepAlive: head.isKeepAlive, context: context)
            }
        }
    }

    func write(_ response: AdminServer.Response, keepAlive: Bool, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: response.body.utf8.count)
        buffer.writeString(response.body)
        var headers = HTTPHeaders([("content-type", response.contentType), ("content-length", String(buffer.readableBytes)),
                                   ("cache-control", "no-cache, max-age=0"), ("x-content-type-options", "nosniff")])
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))),
                      promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        if !keepAlive { context.close(promise: nil) }
    }
}
