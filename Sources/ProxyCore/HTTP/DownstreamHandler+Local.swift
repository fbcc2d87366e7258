import Foundation
import NIOCore
import NIOHTTP1
import ProxyConfig

/// What the downstream handler answers itself (local replies, access-log lines), its timers, and how responses end.
extension DownstreamHandler {
    func localReply(_ reply: LocalReply, state: RoutingState, log: AccessLogEntry, keepAlive: Bool,
                            requestEnded: Bool = false, context: ChannelHandlerContext,
                            mutations: [HeaderMutations] = []) {
        var headers = HTTPHeaders()
        var body = context.channel.allocator.buffer(capacity: reply.body.utf8.count)
        body.writeString(reply.body)
        headers.add(name: "content-length", value: String(body.readableBytes))
        if !reply.body.isEmpty { headers.add(name: "content-type", value: "text/plain") }
        for (name, value) in reply.extraHeaders { headers.add(name: name, value: value) }
        HeaderRules.applyLevels(mutations, mostSpecificWins: state.mostSpecificHeaderMutationsWins,
                                to: &headers)
        HeaderRules.applyServerHeader(state, to: &headers)
        let close = !self.http2 && (!keepAlive || self.chain.isDraining)
        if close { headers.add(name: "connection", value: "close") }
        state.stats.recordResponse(status: Int(reply.status.code))
        self.write(.head(HTTPResponseHead(version: .http1_1, status: reply.status, headers: headers)), context: context,
                      promise: nil)
        if body.readableBytes > 0 { self.write(.body(.byteBuffer(body)), context: context, promise: nil) }
        self.writeEnd(nil, context: context)
        var entry = log
        entry.responseFlags = reply.flag
        entry.bytesSent = body.readableBytes
        self.writeLog(entry, status: Int(reply.status.code), started: nil, state: state)
        if requestEnded {
            self.state = .idle
            if close { self.closeWhenWritten(context: context) }
        } else {
            self.state = .discarding(keepAlive: !close)
        }
    }

    /// Routes that answer without an upstream: `direct_response` and `redirect`.
    func answerFromRoute(_ decision: RouteDecision, request: RouteRequest, state: RoutingState, log: AccessLogEntry,
                         keepAlive: Bool, context: ChannelHandlerContext) {
        let route = decision.route
        switch route.action {
        case .directResponse(let response):
            state.stats.directResponses.increment()
            var body = ""
            if case .inlineString(let text)? = response.body { body = text }
            if case .inlineBytes(let text)? = response.body { body = text }
            if case .filename(let path)? = response.body { body = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
            let reply = LocalReply(status: HTTPResponseStatus(statusCode: response.status), body: body, flag: "")
            self.localReply(reply, state: state, log: log, keepAlive: keepAlive, context: context,
                            mutations: [route.responseHeaders, decision.virtualHost.responseHeaders,
                                        state.manager.routeConfig.responseHeaders])
        case .redirect(let redirect):
            state.stats.redirects.increment()
            var reply = LocalReply(status: HTTPResponseStatus(statusCode: redirect.responseCode.status), body: "", flag: "")
            reply.extraHeaders = [("location", decision.redirectLocation(for: request) ?? "/")]
            self.localReply(reply, state: state, log: log, keepAlive: keepAlive, context: context)
        case .route:
            break   // forwarding routes have a plan and never come here
        }
    }

    /// The entry is taken only when a log is configured: reading it out of an exchange copies it.
    func writeLog(_ entry: @autoclosure () -> AccessLogEntry, status: Int, started: NIODeadline?, state: RoutingState) {
        guard !state.accessLoggers.isEmpty else { return }
        var entry = entry()
        entry.responseCode = status
        entry.durationMilliseconds = Int(Date().timeIntervalSince(entry.startTime) * 1000)
        for logger in state.accessLoggers { logger.log(entry) }
    }

    // MARK: Timers
    //
    // One watchdog per connection instead of two timers per request: a NIO timer costs a heap insertion and a
    // linear-time removal, and on keep-alive connections nearly every one is cancelled. Exchanges record deadlines;
    // the watchdog fires at the earliest it was armed for and, when the current exchange's deadlines have moved
    // on (a new request, fresh activity), re-arms itself for them. Keep-alive traffic costs one wakeup per timeout.

    func armRouteTimeout(_ exchange: Exchange, context: ChannelHandlerContext) {
        guard !exchange.plan.timeout.isZero, !exchange.responseEnded else { return }
        let deadline = NIODeadline.now() + .nanoseconds(exchange.plan.timeout.nanoseconds)
        exchange.routeDeadline = deadline
        self.armWatchdog(by: deadline, context: context)
    }

    /// Route `idle_timeout`, else the connection manager's `stream_idle_timeout`: no bytes either way for that long.
    /// Activity only moves `lastActivity`; rescheduling on every chunk would cost a heap operation per read.
    func armIdleTimer(_ exchange: Exchange, context: ChannelHandlerContext) {
        let idle = exchange.plan.idleTimeout ?? exchange.state.streamIdleTimeout
        guard !idle.isZero else { return }
        let limit = TimeAmount.nanoseconds(idle.nanoseconds)
        exchange.idleLimit = limit
        self.armWatchdog(by: exchange.lastActivity + limit, context: context)
    }

    private func armWatchdog(by deadline: NIODeadline, context: ChannelHandlerContext) {
        if let armed = self.watchdogDeadline, self.watchdog != nil, armed <= deadline { return }
        self.watchdog?.cancel()
        self.watchdogDeadline = deadline
        self.watchdog = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.watchdogFired() }
    }

    private func watchdogFired() {
        self.watchdog = nil
        self.watchdogDeadline = nil
        guard case .proxying(let exchange) = self.state, let context = self.context else { return }
        let now = NIODeadline.now()
        if let deadline = exchange.routeDeadline, now >= deadline {
            exchange.state.stats.requestTimeouts.increment()
            if exchange.responseHeadSent {
                exchange.cluster.stats.requestTimeouts.increment()
                self.abortAfterResponseStarted(exchange, flag: "UT", context: context)
            } else {
                self.failBeforeResponse(exchange, reply: .upstreamTimeout, context: context)
            }
        } else if let limit = exchange.idleLimit, now >= exchange.lastActivity + limit {
            if exchange.responseHeadSent {
                self.abortAfterResponseStarted(exchange, flag: "SI", context: context)
            } else {
                self.failBeforeResponse(exchange, reply: .streamIdleTimeout, context: context)
            }
        } else if let next = exchange.nextDeadline {
            self.armWatchdog(by: next, context: context)
        }
    }

    // MARK: Ending responses

    func writeEnd(_ trailers: HTTPHeaders?, context: ChannelHandlerContext) {
        self.writeAndFlush(.end(trailers), context: context, promise: nil)
    }

    /// Closes the connection once every response byte written so far has reached the socket (closing drops writes
    /// still queued in the channel: a slow client would get a truncated body). An empty write marks the spot, so
    /// responses on connections that stay open carry no promise.
    func closeWhenWritten(context: ChannelHandlerContext) {
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        self.writeAndFlush(.body(.byteBuffer(channel.allocator.buffer(capacity: 0))), context: context, promise: written)
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }
}
