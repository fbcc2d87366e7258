import Foundation
import NIOCore
import NIOHTTP1
import ProxyConfig

/// Serves one downstream HTTP/1.1 connection: routes each request, answers locally or forwards it to an
/// upstream connection on the same event loop, and streams both bodies with backpressure.
///
/// HTTP/1.1 pipelining is handled here: a request that arrives while another is in flight waits in `queued`
/// (bounded: reads pause when it is full) and starts when the previous response ends. NIO's pipelining
/// helper would do the same by stopping reads after every request, which costs two epoll_ctl calls per request.
final class DownstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP1InboundPart
    typealias OutboundIn = DownstreamResponsePart
    typealias OutboundOut = DownstreamResponsePart

    enum State {
        case idle
        /// Answered locally; the rest of the request body is read and dropped.
        case discarding(keepAlive: Bool)
        case proxying(Exchange)
        /// Answered by a local responder (the registry mirror); the request body is dropped.
        case responding(ResponderExchange)
    }

    let chain: ChainRuntime
    var state = State.idle
    var context: ChannelHandlerContext?
    var pendingRead = false
    /// False once the channel closed: a flag is cheaper than asking the channel in the pipelining loop.
    private var active = true
    /// The channel's allocator, kept: reaching it through the context costs two reference counts each time.
    var allocator = ByteBufferAllocator()
    var remoteAddress: String?
    var random = FastRandom()
    /// The connection's one timer for route and idle timeouts, and the deadline it is set for.
    var watchdog: Scheduled<Void>?
    var watchdogDeadline: NIODeadline?
    /// Pools of this connection's event loop, by cluster, so a request takes no lock to find its pool.
    private var pools: [ObjectIdentifier: ConnectionPool] = [:]
    /// Parts of pipelined requests waiting for the current exchange to end.
    private var queued = CircularBuffer<HTTP1InboundPart>()
    private var queuedBytes = 0
    private var drainingQueue = false

    /// The HTTP/1 codec below, called directly for writes; nil on an HTTP/2 stream (parts go down the pipeline).
    weak var codec: HTTP1ServerCodec?

    /// True on an HTTP/2 stream: no connection-level headers, and the stream, not the connection, ends.
    let http2: Bool

    static let noTime = Date(timeIntervalSince1970: 0)

    init(chain: ChainRuntime, http2: Bool = false) {
        self.chain = chain
        self.http2 = http2
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.allocator = context.channel.allocator
        self.remoteAddress = context.channel.remoteAddress?.ipAddress
        // An HTTP/2 stream is not a connection: its connection was counted when it was set up.
        guard !self.http2 else { return }
        let stats = self.chain.current.stats
        stats.downstreamConnectionsTotal.increment()
        stats.downstreamConnectionsActive.increment()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !self.http2 { self.chain.current.stats.downstreamConnectionsActive.decrement() }
        self.watchdog?.cancel()
        self.watchdog = nil
        self.context = nil
    }

    // MARK: Writing

    func write(_ part: DownstreamResponsePart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        if let codec = self.codec {
            codec.encode(part, promise: promise)
        } else {
            context.write(self.wrapOutboundOut(part), promise: promise)
        }
    }

    func writeAndFlush(_ part: DownstreamResponsePart, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        self.write(part, context: context, promise: promise)
        if let codec = self.codec { codec.flush() } else { context.flush() }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.receive(self.unwrapInboundIn(data))
    }

    /// A request part, from the pipeline (HTTP/2) or straight from the HTTP/1 codec.
    func receive(_ part: HTTP1InboundPart) {
        guard let context = self.context else { return }
        if !self.queued.isEmpty || self.isBusy(for: part) {
            self.queued.append(part)
            if case .body(let buffer) = part { self.queuedBytes += buffer.readableBytes }
            return
        }
        self.handle(part, context: context)
    }

    private func handle(_ part: HTTP1InboundPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head): self.requestHead(head, context: context)
        case .body(let buffer): self.requestBody(buffer)
        case .end(let trailers): self.requestEnd(trailers, context: context)
        }
        self.drainQueue(context: context)
    }

    /// A new request cannot start while the previous one is still being answered.
    private func isBusy(for part: HTTP1InboundPart) -> Bool {
        guard case .head = part else { return false }
        if case .idle = self.state { return false }
        return true
    }

    /// Starts queued pipelined requests once the connection is free again.
    func drainQueue(context: ChannelHandlerContext) {
        guard !self.drainingQueue else { return }
        self.drainingQueue = true
        defer { self.drainingQueue = false }
        while let next = self.queued.first, !self.isBusy(for: next), self.active {
            self.queued.removeFirst()
            if case .body(let buffer) = next { self.queuedBytes -= buffer.readableBytes }
            switch next {
            case .head(let head): self.requestHead(head, context: context)
            case .body(let buffer): self.requestBody(buffer)
            case .end(let trailers): self.requestEnd(trailers, context: context)
            }
        }
        if self.queued.isEmpty { self.resumeDownstreamReading() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = self.state, let connection = exchange.connection {
            connection.handler.flush()
        }
        context.fireChannelReadComplete()
    }

    private func requestHead(_ head: HTTP1Head, context: ChannelHandlerContext) {
        let state = self.chain.current
        self.codec?.limits = (state.maxRequestHeadBytes, state.maxHeadersCount)
        state.stats.requestsTotal.increment()
        let host = head.host
        let path = head.targetString
        let keepAlive = self.http2 || head.isKeepAlive
        // The clock is read only when a log will be written (a request's duration comes from NIODeadline).
        var log = AccessLogEntry(startTime: state.accessLoggers.isEmpty ? Self.noTime : Date(), method: head.methodString,
                                 path: path,
                                 protocolName: self.http2 ? "HTTP/2" : (head.version.minor == 0 ? "HTTP/1.0" : "HTTP/1.1"),
                                 authority: host ?? "")
        if !state.accessLoggers.isEmpty {
            // Only what a format can ask for by %REQ(...)%; gathered only when something will be logged.
            for field in head.fields {
                let name = head.string(field.name).lowercased()
                if log.requestHeaders[name] == nil { log.requestHeaders[name] = head.string(field.value) }
            }
            log.downstreamRemoteAddress = self.remoteAddress
        }
        // HTTP/1 heads over the limits never get here (the codec answers 431); HTTP/2 ones are checked here.
        if self.http2, head.bytes.readableBytes > state.maxRequestHeadBytes
            || head.fields.count > state.maxHeadersCount {
            state.stats.tooLarge.increment()
            self.localReply(LocalReply(status: .requestHeaderFieldsTooLarge, body: "", flag: "DPE"), state: state,
                            log: log, keepAlive: false, context: context)
            return
        }
        guard let host else {
            self.localReply(LocalReply(status: .badRequest, body: "missing host header", flag: "DPE"), state: state,
                            log: log, keepAlive: false, context: context)
            return
        }
        let request = RouteRequest(host: host, path: path, method: head.methodString, scheme: "http",
                                   headers: state.table.matchesHeaders
                                       ? head.fields.map { (head.string($0.name), head.string($0.value)) } : [])
        guard let decision = state.table.match(request) else {
            state.stats.noRoute.increment()
            self.localReply(.noRoute, state: state, log: log, keepAlive: keepAlive, context: context)
            return
        }
        log.routeName = decision.routeName
        guard let plan = decision.plan else {
            self.answerFromRoute(decision, request: request, state: state, log: log, keepAlive: keepAlive, context: context)
            return
        }
        let clusterName = decision.cluster(random: self.random.next())
        if let responder = state.responder, !plan.registryMirrorDisabled {
            var request = ResponderRequest(method: HTTPMethod(rawValue: head.methodString), uri: path, host: host,
                                           headers: head.headers,
                                           remoteAddress: self.remoteAddress,
                                           virtualHostDomains: decision.virtualHost.domains, clusterName: clusterName)
            request.supportsFileRegions = !self.http2
            if responder.handles(request) {
                self.startResponder(responder, request: request, state: state, log: log,
                                    keepAlive: keepAlive, context: context)
                return
            }
        }
        guard let clusterName, let cluster = state.clusters.cluster(named: clusterName) else {
            state.stats.noCluster.increment()
            self.localReply(.noCluster(plan.clusterNotFoundStatus), state: state, log: log,
                            keepAlive: keepAlive, context: context)
            return
        }
        log.upstreamCluster = clusterName
        guard cluster.admitRequest() else {
            cluster.stats.pendingOverflow.increment()   // Envoy counts request overflow here too
            self.localReply(.overflow, state: state, log: log, keepAlive: keepAlive, context: context)
            return
        }
        cluster.stats.requestsTotal.increment()
        let pool: ConnectionPool
        if let cached = self.pools[ObjectIdentifier(cluster)] {
            pool = cached
        } else {
            pool = cluster.pool(on: context.eventLoop)
            self.pools[ObjectIdentifier(cluster)] = pool
        }
        let exchange = Exchange(state: state, head: head, host: host, keepAlive: keepAlive, decision: decision,
                                plan: plan, cluster: cluster, pool: pool, log: log, http2: self.http2)
        self.state = .proxying(exchange)
        state.stats.requestsActive.increment()
        self.armIdleTimer(exchange, context: context)
        self.connect(exchange, context: context)
    }

    private func requestBody(_ buffer: ByteBuffer) {
        guard case .proxying(let exchange) = self.state else { return }
        exchange.log.bytesReceived += buffer.readableBytes
        exchange.lastActivity = .now()
        exchange.sent(.body(.byteBuffer(buffer)))
        if let connection = exchange.connection {
            connection.handler.send(.body(.byteBuffer(buffer)))
        } else {
            exchange.pendingParts.append(.body(.byteBuffer(buffer)))
            exchange.pendingBytes += buffer.readableBytes
        }
    }

    private func requestEnd(_ trailers: HTTPHeaders?, context: ChannelHandlerContext) {
        switch self.state {
        case .idle:
            break
        case .discarding(let keepAlive):
            self.state = .idle
            if !keepAlive { self.closeWhenWritten(context: context) }
        case .responding(let exchange):
            exchange.requestEnded = true
            if exchange.responseEnded { self.responderFinished(exchange, context: context) }
        case .proxying(let exchange):
            exchange.requestEnded = true
            exchange.sent(.end(trailers))
            if let connection = exchange.connection {
                connection.handler.send(.end(trailers))
                connection.handler.flush()
            } else {
                exchange.pendingParts.append(.end(trailers))
            }
            self.armRouteTimeout(exchange, context: context)
            if exchange.responseEnded { self.finish(exchange, context: context) }
        }
    }

    // MARK: Finishing

    func finish(_ exchange: Exchange, context: ChannelHandlerContext) {
        exchange.releaseUpstream(reusable: exchange.requestEnded)
        exchange.complete()
        self.writeLog(exchange.log, status: exchange.responseStatus, started: exchange.started, state: exchange.state)
        if exchange.requestEnded {
            self.state = .idle
            if !self.http2, !exchange.keepAlive || self.chain.isDraining { self.closeWhenWritten(context: context) }
        } else {
            self.state = .discarding(keepAlive: exchange.keepAlive)
        }
    }

    func failBeforeResponse(_ exchange: Exchange, reply: LocalReply, context: ChannelHandlerContext) {
        exchange.releaseUpstream(reusable: false)
        exchange.complete()
        if reply.flag == "UT" { exchange.cluster.stats.requestTimeouts.increment() }
        if reply.flag == "UC" { exchange.cluster.stats.resetsBeforeResponse.increment() }
        self.state = .idle
        self.localReply(reply, state: exchange.state, log: exchange.log, keepAlive: exchange.keepAlive,
                        requestEnded: exchange.requestEnded, context: context)
        self.drainQueue(context: context)
    }

    /// After the response started, an upstream failure can only be signalled by cutting the downstream connection.
    func abortAfterResponseStarted(_ exchange: Exchange, flag: String, context: ChannelHandlerContext) {
        exchange.abandonUpstream()
        exchange.log.responseFlags = flag
        exchange.complete()
        self.writeLog(exchange.log, status: exchange.responseStatus, started: exchange.started, state: exchange.state)
        self.state = .idle
        context.close(promise: nil)
    }

    // MARK: Backpressure

    func read(context: ChannelHandlerContext) {
        if self.queued.count > 64 || self.queuedBytes > self.chain.current.bufferLimit {
            self.pendingRead = true
            return
        }
        if case .proxying(let exchange) = self.state {
            let upstreamFull = exchange.connection.map { !$0.channel.isWritable } ?? false
            let bufferFull = exchange.connection == nil && exchange.pendingBytes >= exchange.state.bufferLimit
            if upstreamFull || bufferFull {
                self.pendingRead = true
                return
            }
        }
        context.read()
    }

    func resumeDownstreamReading() {
        guard self.pendingRead, let context = self.context else { return }
        self.pendingRead = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .proxying(let exchange) = self.state {
            exchange.connection?.handler.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.active = false
        if case .proxying(let exchange) = self.state {
            // The client went away: the upstream request is cut too, and that connection is not reused.
            exchange.abandonUpstream()
            exchange.log.responseFlags = "DC"
            exchange.complete()
            self.writeLog(exchange.log, status: exchange.responseStatus, started: exchange.started, state: exchange.state)
            self.state = .idle
        }
        if case .responding(let exchange) = self.state { self.responderClientGone(exchange) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A request the codec cannot parse ends the connection; when no response is under way the client is
        // told why first (400 with `connection: close`, flag DPE), as Envoy does.
        var responseUnderway = true
        switch self.state {
        case .idle, .discarding: responseUnderway = false
        case .proxying, .responding: break
        }
        if let error = error as? HTTP1HeadError, !self.http2, !responseUnderway, context.channel.isActive {
            let state = self.chain.current
            let log = AccessLogEntry(startTime: state.accessLoggers.isEmpty ? Self.noTime : Date(), method: "-",
                                     path: "-", protocolName: "HTTP/1.1", authority: "")
            if error == .tooLarge { state.stats.tooLarge.increment() }
            let status: HTTPResponseStatus = error == .tooLarge ? .requestHeaderFieldsTooLarge : .badRequest
            self.localReply(LocalReply(status: status, body: "", flag: "DPE"), state: state, log: log,
                            keepAlive: false, requestEnded: true, context: context)
            return
        }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let drain = event as? DrainEvent {
            // At shutdown an idle HTTP/1 connection can go now; a busy one closes after its response.
            if drain.closeIdle, !self.http2, case .idle = self.state, self.queued.isEmpty { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension DownstreamHandler: Sendable {}
