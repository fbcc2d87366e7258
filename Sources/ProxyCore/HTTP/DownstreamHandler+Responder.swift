import NIOCore
#if canImport(Glibc)
import Glibc
#endif
import NIOHTTP1
import ProxyConfig

/// One request a `LocalResponder` answers: its task, and where the request and the response are.
final class ResponderExchange {
    let state: RoutingState
    var log: AccessLogEntry
    let keepAlive: Bool
    let isHead: Bool
    var requestEnded = false
    var responseEnded = false
    var status = 0
    var task: Task<Void, Never>?
    let eventLoop: any EventLoop

    init(state: RoutingState, log: AccessLogEntry, keepAlive: Bool, isHead: Bool, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.state = state
        self.log = log
        self.keepAlive = keepAlive
        self.isHead = isHead
    }
}

/// Requests answered by a local responder (the registry mirror): the answer is computed in a task, then written
/// on the event loop; a streamed body is written chunk by chunk, waiting whenever the socket is full, so a slow
/// client holds at most a socket buffer and a chunk.
extension DownstreamHandler {
    func startResponder(_ responder: any LocalResponder, request: ResponderRequest, state: RoutingState,
                        log: AccessLogEntry, keepAlive: Bool, context: ChannelHandlerContext) {
        let exchange = ResponderExchange(state: state, log: log, keepAlive: keepAlive, isHead: request.method == .HEAD,
                                         eventLoop: context.eventLoop)
        self.state = .responding(exchange)
        state.stats.requestsActive.increment()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let bound = NIOLoopBound(exchange, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        exchange.task = Task {
            let response = await responder.respond(to: request)
            let streaming = try? await eventLoop.submit { handler.value.writeResponderHead(response, bound.value) }.get()
            guard streaming == true else { return }
            let body: AsyncThrowingStream<ByteBuffer, any Error>
            switch response.body {
            case .stream(let stream): body = stream
            case .file(let file):
                do {
                    if try await eventLoop.flatSubmit({ handler.value.writeFileRegion(file, bound.value) }).get() {
                        file.onEnd(file.length)
                        eventLoop.execute { handler.value.endResponder(bound.value) }
                        return
                    }
                } catch {
                    file.onEnd(0)
                    eventLoop.execute { handler.value.abortResponder(bound.value) }
                    return
                }
                body = file.fallback
            case .segments(let segments):
                do {
                    for try await segment in segments {
                        switch segment {
                        case .bytes(let chunk):
                            try await eventLoop.flatSubmit { handler.value.writeResponderChunk(chunk, bound.value) }.get()
                        case .file(let descriptor, let offset, let length):
                            try await eventLoop.flatSubmit {
                                handler.value.writeFileSegment(descriptor, offset: offset, length: length, bound.value)
                            }.get()
                        }
                    }
                    eventLoop.execute { handler.value.endResponder(bound.value) }
                } catch {
                    eventLoop.execute { handler.value.abortResponder(bound.value) }
                }
                return
            default: return
            }
            do {
                for try await chunk in body {
                    try await eventLoop.flatSubmit { handler.value.writeResponderChunk(chunk, bound.value) }.get()
                }
                eventLoop.execute { handler.value.endResponder(bound.value) }
            } catch {
                eventLoop.execute { handler.value.abortResponder(bound.value) }
            }
        }
    }

    /// Writes the head (and a body that is already there); true when a streamed body follows.
    private func writeResponderHead(_ response: ResponderResponse, _ exchange: ResponderExchange) -> Bool {
        guard case .responding(let current) = self.state, current === exchange, let context = self.context else { return false }
        var headers = response.headers
        HeaderRules.applyServerHeader(exchange.state, to: &headers)
        if !self.http2, !exchange.keepAlive || self.chain.isDraining { headers.replaceOrAdd(name: "connection", value: "close") }
        exchange.status = Int(response.status.code)
        exchange.log.responseFlags = response.flag
        self.write(.head(HTTPResponseHead(version: .http1_1, status: response.status,
                                                                  headers: headers)), context: context, promise: nil)
        switch response.body {
        case .stream, .file, .segments:
            if exchange.isHead {
                if case .file(let file) = response.body { file.onEnd(0) }
                self.endResponder(exchange)
                return false
            }
            context.flush()
            return true
        case .bytes(let buffer):
            if !exchange.isHead, buffer.readableBytes > 0 {
                exchange.log.bytesSent += buffer.readableBytes
                self.write(.body(.byteBuffer(buffer)), context: context, promise: nil)
            }
            self.endResponder(exchange)
            return false
        case .empty:
            self.endResponder(exchange)
            return false
        }
    }

    /// Sends a file range with sendfile on a plain HTTP/1 connection; the future says whether it was sent that
    /// way (false: the caller streams the fallback instead). An HTTP/2 stream cannot carry a file region.
    private func writeFileRegion(_ file: ResponderResponse.FileBody, _ exchange: ResponderExchange) -> EventLoopFuture<Bool> {
        guard case .responding(let current) = self.state, current === exchange, !self.http2 else {
            return exchange.eventLoop.makeSucceededFuture(false)
        }
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return exchange.eventLoop.makeSucceededFuture(false) }
        return self.writeFileSegment(OwnedDescriptor(fd), offset: file.offset, length: file.length, exchange).map { true }
    }

    /// Sends one range of a file with sendfile; the future completes when it has all been written.
    private func writeFileSegment(_ descriptor: OwnedDescriptor, offset: Int, length: Int, _ exchange: ResponderExchange)
    -> EventLoopFuture<Void> {
        guard case .responding(let current) = self.state, current === exchange, let context = self.context,
              let fd = descriptor.take() else {
            return exchange.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        exchange.log.bytesSent += length
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.writeAndFlush(.body(.fileRegion(FileRegion(fileHandle: handle, readerIndex: offset,
                                                                                  endIndex: offset + length))), context: context,
                              promise: promise)
        return promise.futureResult.always { _ in try? handle.close() }
    }

    /// Writes a chunk; the future completes at once while the socket takes more, else when this chunk is written.
    private func writeResponderChunk(_ chunk: ByteBuffer, _ exchange: ResponderExchange) -> EventLoopFuture<Void> {
        guard case .responding(let current) = self.state, current === exchange, let context = self.context else {
            return exchange.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        exchange.log.bytesSent += chunk.readableBytes
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.writeAndFlush(.body(.byteBuffer(chunk)), context: context, promise: promise)
        if context.channel.isWritable { return context.eventLoop.makeSucceededVoidFuture() }
        return promise.futureResult
    }

    private func endResponder(_ exchange: ResponderExchange) {
        guard case .responding(let current) = self.state, current === exchange, let context = self.context else { return }
        exchange.responseEnded = true
        self.writeEnd(nil, context: context)
        self.completeResponder(exchange)
        if exchange.requestEnded { self.responderFinished(exchange, context: context) }
    }

    /// The body failed midway: the only honest signal left is to cut the connection.
    private func abortResponder(_ exchange: ResponderExchange) {
        guard case .responding(let current) = self.state, current === exchange, let context = self.context else { return }
        exchange.log.responseFlags = exchange.log.responseFlags.isEmpty ? "UPE" : exchange.log.responseFlags + ",UPE"
        self.completeResponder(exchange)
        self.state = .idle
        context.close(promise: nil)
    }

    private func completeResponder(_ exchange: ResponderExchange) {
        exchange.state.stats.requestsActive.decrement()
        exchange.state.stats.recordResponse(status: exchange.status)
        self.writeLog(exchange.log, status: exchange.status, started: nil, state: exchange.state)
    }

    /// Both directions are done: the connection takes the next request, or closes.
    func responderFinished(_ exchange: ResponderExchange, context: ChannelHandlerContext) {
        self.state = .idle
        if !self.http2, !exchange.keepAlive || self.chain.isDraining {
            self.closeWhenWritten(context: context)
            return
        }
        self.drainQueue(context: context)
    }

    /// The client went away before the answer was written: the task is cancelled (work it shares, such as a
    /// blob fill, carries on without it).
    func responderClientGone(_ exchange: ResponderExchange) {
        exchange.task?.cancel()
        if !exchange.responseEnded {
            exchange.log.responseFlags = "DC"
            self.completeResponder(exchange)
        }
        self.state = .idle
    }
}
