import NIOCore
import NIOHTTP1

/// The upstream side of an exchange: picking an endpoint and a pooled connection, and the downstream side as
/// that connection drives it (response head, body, end, failures, and writability for backpressure).
extension DownstreamHandler: UpstreamResponseReceiver {
    var downstreamIsWritable: Bool { self.context?.channel.isWritable ?? false }

    func upstreamResponseHead(_ head: HTTP1Head) {
        guard case .proxying(let exchange) = self.state, let context = self.context else { return }
        let status = head.status
        if exchange.retriesLeft > 0, exchange.retriableStatuses(status), exchange.requestEnded,
           let replay = exchange.replayParts, exchange.connection != nil {
            // Nothing reached the client yet: drop this answer and its connection, and try again after a backoff.
            exchange.retriesLeft -= 1
            exchange.cluster.stats.retries.increment()
            exchange.cluster.stats.recordResponse(status: status)
            exchange.abandonUpstream()
            exchange.pendingParts = replay
            let backoff = TimeAmount.milliseconds(Int64.random(in: 0...25, using: &self.random))
            context.eventLoop.assumeIsolated().scheduleTask(in: backoff) {
                guard case .proxying(let current) = self.state, current === exchange, let context = self.context else { return }
                self.connect(exchange, context: context)
            }
            return
        }
        let now = NIODeadline.now()
        exchange.lastActivity = now
        exchange.responseStatus = status
        exchange.cluster.stats.recordResponse(status: exchange.responseStatus)
        if let counters = exchange.hostCounters {
            counters.countAnswer(status: exchange.responseStatus)
        }
        let draining = self.chain.isDraining
        if draining { exchange.state.stats.drainClose.increment() }
        exchange.responseHeadSent = true
        exchange.state.stats.recordResponse(status: exchange.responseStatus)
        let encoded = exchange.downstreamHead(head, draining: draining, now: now,
                                               allocator: self.allocator)
        self.write(.encodedHead(encoded), context: context, promise: nil)
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard case .proxying(let exchange) = self.state, let context = self.context else { return }
        exchange.log.bytesSent += buffer.readableBytes
        exchange.lastActivity = .now()
        self.write(.body(.byteBuffer(buffer)), context: context, promise: nil)
    }

    func upstreamReadComplete() {
        guard let context = self.context else { return }
        if let codec = self.codec { codec.flush() } else { context.flush() }
    }

    func upstreamResponseEnd(_ trailers: HTTPHeaders?) {
        guard case .proxying(let exchange) = self.state, let context = self.context else { return }
        exchange.responseEnded = true
        self.writeEnd(trailers, context: context)
        self.finish(exchange, context: context)
        self.drainQueue(context: context)
    }

    func upstreamFailed(_ error: any Error) {
        guard case .proxying(let exchange) = self.state, let context = self.context else { return }
        exchange.connection = nil
        if exchange.responseHeadSent {
            self.abortAfterResponseStarted(exchange, flag: "UC", context: context)
        } else {
            self.failBeforeResponse(exchange, reply: LocalReply.reply(for: error), context: context)
            self.drainQueue(context: context)
        }
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { self.resumeDownstreamReading() }
    }

    // MARK: Upstream connection

    func connect(_ exchange: Exchange, context: ChannelHandlerContext) {
        if exchange.endpoint != nil {
            exchange.hostCounters?.requestFinished()
            exchange.endpoint = nil
            exchange.hostCounters = nil
        }
        guard let endpoint = exchange.cluster.pickEndpoint(using: &self.random) else {
            exchange.cluster.stats.noHealthyUpstream.increment()
            self.failBeforeResponse(exchange, reply: .noHealthyUpstream, context: context)
            return
        }
        exchange.endpoint = endpoint
        exchange.hostCounters = exchange.cluster.hostStarted(endpoint)
        exchange.log.upstreamHost = endpoint.description
        let hostname = exchange.cluster.serverHostname(for: endpoint, authority: exchange.decision.upstreamHost)
        if let idle = exchange.pool.takeIdle(endpoint) {
            self.attach(idle, to: exchange, context: context)
            return
        }
        guard exchange.cluster.beginPending() else {
            self.failBeforeResponse(exchange, reply: .overflow, context: context)
            return
        }
        exchange.pool.acquire(endpoint, serverHostname: hostname).assumeIsolated().whenComplete { result in
            exchange.cluster.endPending()
            guard case .proxying(let current) = self.state, current === exchange, let context = self.context else {
                if case .success(let connection) = result { exchange.pool.release(connection) }
                return
            }
            switch result {
            case .success(let connection):
                self.attach(connection, to: exchange, context: context)
            case .failure(let error):
                if exchange.retryOnConnectFailure, exchange.retriesLeft > 0 {
                    exchange.retriesLeft -= 1
                    exchange.cluster.stats.retries.increment()
                    self.connect(exchange, context: context)
                    return
                }
                self.failBeforeResponse(exchange, reply: LocalReply.reply(for: error), context: context)
            }
        }
    }

    func attach(_ connection: UpstreamConnection, to exchange: Exchange, context: ChannelHandlerContext) {
        exchange.connection = connection
        connection.handler.receiver = self
        exchange.upstreamStarted = .now()
        let head = exchange.upstreamHead(remoteAddress: self.remoteAddress, endpoint: connection.endpoint,
                                         random: &self.random, allocator: self.allocator)
        connection.handler.send(.head(head))
        for part in exchange.pendingParts { connection.handler.send(part) }
        exchange.pendingParts = []
        exchange.pendingBytes = 0
        connection.handler.flush()
        self.resumeDownstreamReading()
    }
}
