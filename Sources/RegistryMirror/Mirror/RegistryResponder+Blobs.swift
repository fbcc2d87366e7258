import Foundation
import NIOCore
import NIOHTTP1
import ProxyCore

/// Blobs: served from the store when present; otherwise one upstream fetch per digest fills the store while every
/// client asking streams from the file as it grows (Range included); nothing unverified is ever published.
extension RegistryResponder {
    func blob(_ digest: Digest, name: RepositoryName, upstream: UpstreamRegistry, request: ResponderRequest) async throws
    -> ResponderResponse {
        let isHead = request.method == .HEAD
        let blobs = self.cache.blobs
        let rangeHeader = request.headers.first(name: "range")
        if let info = blobs.lookup(digest) {
            upstream.stats.cacheHits.increment()
            blobs.beginRead(digest)
            let stats = upstream.stats
            return self.blobResponse(BlobFill(completed: info), digest: digest, size: info.size, range: rangeHeader,
                                     isHead: isHead, flag: "HIT", storedAt: info.path) { sent in
                stats.bytesFromCache.increment(by: sent)
                blobs.endRead(digest)
            }
        }
        upstream.stats.cacheMisses.increment()
        if isHead {
            // A HEAD does not start a fill: ask the upstream what it has.
            let response = try await upstream.fetch(.HEAD, path: "/v2/\(name.value)/blobs/\(digest)", repository: name)
            await response.discard()
            guard response.status == 200, let size = response.contentLength else {
                throw Self.upstreamError(response.status == 200 ? 502 : response.status, notFound: .blobUnknown,
                                         what: "blob \(digest)", retryAfter: response.header("retry-after"))
            }
            var headers = Self.contentHeaders(digest: digest, mediaType: "application/octet-stream")
            headers.add(name: "content-length", value: String(size))
            headers.add(name: "accept-ranges", value: "bytes")
            return ResponderResponse(status: .ok, headers: headers, flag: "MISS")
        }
        let stats = upstream.stats
        let fill = await blobs.fill(digest) {
            let response = try await upstream.fetch(.GET, path: "/v2/\(name.value)/blobs/\(digest)", repository: name)
            guard response.status == 200 else {
                await response.discard()
                throw Self.upstreamError(response.status, notFound: .blobUnknown, what: "blob \(digest)",
                                         retryAfter: response.header("retry-after"))
            }
            let body = response.body { stats.bytesFromUpstream.increment(by: $0) }
            return FileBlobStore.BlobSource(expectedSize: response.contentLength, body: body) { error in
                if error is FileBlobStore.StoreError { stats.verificationFailures.increment() } else { stats.upstreamErrors.increment() }
            }
        }
        let size: Int
        do {
            if let declared = try await fill.size() {
                size = declared
            } else {
                size = try await fill.result().size   // no Content-Length upstream: the size is known at the end
            }
        } catch let error as RegistryError {
            throw error
        } catch let error as FileBlobStore.StoreError {
            switch error {
            case .digestMismatch, .sizeMismatch:
                throw RegistryError(.blobUnknown, "the upstream's blob \(digest) failed verification (\(error)); nothing was cached")
            case .io, .unsupportedAlgorithm:
                throw RegistryError(.unavailable, "cannot fetch the blob \(digest) into the cache: \(error)")
            }
        }
        return self.blobResponse(fill, digest: digest, size: size, range: rangeHeader, isHead: false, flag: "MISS",
                                 fileSegments: request.supportsFileRegions) { _ in }
    }

    private func blobResponse(_ fill: BlobFill, digest: Digest, size: Int, range: String?, isHead: Bool, flag: String,
                              storedAt path: String? = nil, fileSegments: Bool = false,
                              onEnd: @escaping @Sendable (Int) -> Void) -> ResponderResponse {
        let headers = Self.contentHeaders(digest: digest, mediaType: "application/octet-stream")
        var response = BlobBody.response(fill: fill, size: size, ranges: ByteRanges(header: range, size: size),
                                         headers: headers, isHead: isHead, storedAt: path, fileSegments: fileSegments,
                                         onEnd: onEnd)
        response.flag = flag
        if isHead { onEnd(0) }
        return response
    }
}

extension AsyncThrowingStream where Failure == any Error {
    /// Wraps any async sequence of the same elements, pulling from it only when asked; `onEnd` runs once, when
    /// the sequence ends, fails, or is dropped unfinished (the client went away).
    init<Base: AsyncSequence & Sendable>(_ base: Base, onEnd: (@Sendable () -> Void)? = nil) where Base.Element == Element {
        let box = IteratorBox(base.makeAsyncIterator(), onEnd: onEnd)
        self.init { try await box.next() }
    }
}

/// Holds a sequence's iterator for a pull-based stream; the stream calls it from one task at a time.
private final class IteratorBox<Iterator: AsyncIteratorProtocol>: @unchecked Sendable {
    var iterator: Iterator
    var onEnd: (@Sendable () -> Void)?

    init(_ iterator: Iterator, onEnd: (@Sendable () -> Void)?) {
        self.iterator = iterator
        self.onEnd = onEnd
    }

    deinit { self.onEnd?() }

    func next() async throws -> Iterator.Element? {
        do {
            guard let element = try await self.iterator.next() else {
                self.end()
                return nil
            }
            return element
        } catch {
            self.end()
            throw error
        }
    }

    private func end() {
        self.onEnd?()
        self.onEnd = nil
    }
}
