import NIOCore
import NIOHTTP1

/// The downstream side of an exchange as the upstream connection drives it: response head, body, end,
/// failures, and writability for backpressure.
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
                                               allocator: context.channel.allocator)
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
}
