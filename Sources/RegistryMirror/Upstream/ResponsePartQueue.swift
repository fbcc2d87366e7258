import NIOCore
import NIOHTTP1
import Synchronization

/// Response parts of one upstream connection, read ahead of the task that consumes them up to a byte bound.
///
/// Why not one socket read per request for a part: a blob fill asked for each 64 KiB chunk with a hop to the
/// event loop (and a timer per ask), so reading, hashing and writing took turns, and every chunk woke two
/// threads. Here the event loop keeps reading while less than `highWater` bytes wait, the consumer takes
/// parts under a lock without leaving its thread, and the loop is asked to read again only after reading
/// paused (a full queue) — backpressure stays bounded to `highWater` plus one read cycle.
final class ResponsePartQueue: Sendable {
    static let highWater = 1024 * 1024
    static let lowWater = 256 * 1024
    /// What one `read()` can add past `highWater`: NIO's reads per cycle (`maxMessagesPerRead`) times the
    /// largest receive buffer (both set where the client connects).
    static let readsPerCycle = 4
    static let largestRead = 256 * 1024
    static let oneReadCycle = readsPerCycle * largestRead

    private struct State {
        var parts = CircularBuffer<HTTPClientResponsePart>()
        var bytes = 0
        var waiter: CheckedContinuation<HTTPClientResponsePart?, any Error>?
        var failure: (any Error)?
        var closed = false
        var timedOut = false
        /// The loop is not reading (nothing asked yet, or `bytes` reached `highWater`); the consumer restarts it.
        var paused = true
        /// The idle watchdog is scheduled; a consumer that waits while it is not asks the loop to arm it.
        var watched = false
    }

    private let state = Mutex(State())
    let eventLoop: any EventLoop
    /// The handler on the channel, to ask for reads; set once the pipeline holds it.
    private let handler: NIOLoopBound<ResponsePartReader>

    init(handler: ResponsePartReader, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
    }

    /// The next part, nil once the connection closed; `timedOut` says whether the idle watchdog closed it.
    func next() async throws -> (part: HTTPClientResponsePart?, timedOut: Bool) {
        if let ready = try self.take() { return ready }
        let part: HTTPClientResponsePart? = try await withCheckedThrowingContinuation { continuation in
            let (ready, wake) = self.state.withLock { state -> (Result<HTTPClientResponsePart?, any Error>?, Wake?) in
                if let part = state.parts.popFirst() {
                    state.bytes -= Self.size(of: part)
                    return (.success(part), nil)
                }
                if let failure = state.failure { return (.failure(failure), nil) }
                if state.closed { return (.success(nil), nil) }
                state.waiter = continuation
                guard state.paused || !state.watched else { return (nil, nil) }
                defer { state.paused = false }
                return (nil, Wake(read: state.paused))
            }
            if let ready { continuation.resume(with: ready) }
            if let wake { self.wake(wake) }
        }
        return (part, part == nil && self.state.withLock { $0.timedOut })
    }

    /// What a consumer asks of the loop: to read again (it had paused), and in any case to time the silence.
    private struct Wake { var read: Bool }

    /// A part already read, or the end, without waiting; nil when the consumer has to wait.
    private func take() throws -> (part: HTTPClientResponsePart?, timedOut: Bool)? {
        let (ready, restart) = try self.state.withLock { state -> ((HTTPClientResponsePart?, Bool)?, Bool) in
            if let part = state.parts.popFirst() {
                state.bytes -= Self.size(of: part)
                let restart = state.paused && state.bytes <= Self.lowWater
                if restart { state.paused = false }
                return ((part, false), restart)
            }
            if let failure = state.failure { throw failure }
            if state.closed { return ((nil, state.timedOut), false) }
            return (nil, false)
        }
        if restart { self.wake(Wake(read: true)) }
        return ready
    }

    private func wake(_ wake: Wake) {
        let handler = self.handler
        self.eventLoop.execute { handler.value.consumerWaits(read: wake.read) }
    }

    private static func size(of part: HTTPClientResponsePart) -> Int {
        if case .body(let buffer) = part { return buffer.readableBytes }
        return 0
    }

    // MARK: The event loop's side

    /// Queues `part` or hands it to the waiting consumer.
    func deliver(_ part: HTTPClientResponsePart) {
        let waiter = self.state.withLock { state -> CheckedContinuation<HTTPClientResponsePart?, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.parts.append(part)
            state.bytes += Self.size(of: part)
            return nil
        }
        waiter?.resume(returning: part)
    }

    /// Whether the loop should read again now; false pauses reading until the consumer catches up.
    func shouldKeepReading() -> Bool {
        self.state.withLock { state in
            if state.bytes < Self.highWater { return true }
            state.paused = true
            return false
        }
    }

    /// Bytes read and not taken yet.
    var queuedBytes: Int { self.state.withLock { $0.bytes } }

    func watchdogArmed() { self.state.withLock { $0.watched = true } }

    /// The watchdog found the connection silent for the whole timeout: true (cut it) when a consumer waits,
    /// else the watchdog stops until a consumer waits again.
    func watchdogExpired() -> Bool {
        self.state.withLock { state in
            if state.waiter != nil {
                state.timedOut = true
                return true
            }
            state.watched = false
            return false
        }
    }

    func end(_ failure: (any Error)?) {
        let waiter = self.state.withLock { state -> CheckedContinuation<HTTPClientResponsePart?, any Error>? in
            if let failure, state.failure == nil { state.failure = failure }
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        if let failure { waiter?.resume(throwing: failure) } else { waiter?.resume(returning: nil) }
    }
}

/// The channel handler that feeds a `ResponsePartQueue` (`autoRead` is off: it reads while the queue has room)
/// and cuts a connection whose consumer has waited `idleTimeout` without a byte.
final class ResponsePartReader: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let idleTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var queue: ResponsePartQueue?
    private var lastActivity = NIODeadline.now()
    private var watchdog: Scheduled<Void>?

    init(idleTimeout: TimeAmount) { self.idleTimeout = idleTimeout }

    /// The queue a consumer reads from; made once the handler is in the pipeline.
    func makeQueue(eventLoop: any EventLoop) -> ResponsePartQueue {
        let queue = ResponsePartQueue(handler: self, eventLoop: eventLoop)
        self.queue = queue
        return queue
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.watchdog?.cancel()
    }

    /// A consumer waits: reading starts again if it had stopped, and the silence is timed from now.
    func consumerWaits(read: Bool) {
        guard let context = self.context else { return }
        self.lastActivity = .now()
        self.armWatchdog()
        if read { context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.lastActivity = .now()
        self.queue?.deliver(self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.queue?.shouldKeepReading() ?? false { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.watchdog?.cancel()
        self.watchdog = nil
        self.queue?.end(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.queue?.end(error)
        context.close(promise: nil)
    }

    /// One timer per connection, moved forward lazily: it fires at the last activity plus the timeout and
    /// closes the connection only if a consumer has been waiting on silence that long.
    private func armWatchdog() {
        self.queue?.watchdogArmed()
        guard self.watchdog == nil, let context = self.context else { return }
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.watchdog = context.eventLoop.scheduleTask(deadline: self.lastActivity + self.idleTimeout) {
            loop.value.watchdogFired()
        }
    }

    private func watchdogFired() {
        self.watchdog = nil
        guard let context = self.context, let queue = self.queue else { return }
        if NIODeadline.now() < self.lastActivity + self.idleTimeout {
            self.armWatchdog()
        } else if queue.watchdogExpired() {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension ResponsePartReader: Sendable {}
