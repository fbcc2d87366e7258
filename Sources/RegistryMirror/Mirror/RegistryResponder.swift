import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ProxyConfig
import ProxyCore

/// The registry mirror as a connection manager's filter: answers the distribution API (`/v2/`, manifests, blobs,
/// tags, referrers) from its cache and its upstreams, in every routing form, and leaves other paths to the router.
final class RegistryResponder: LocalResponder {
    let upstreams: RegistryUpstreams
    let cache: MirrorCache
    let limiter: ClientLimiter
    let clientAuth: ClientAuthenticator?
    let logger: Logger

    init(upstreams: RegistryUpstreams, cache: MirrorCache, limiter: ClientLimiter, clientAuth: ClientAuthenticator?,
         logger: Logger) {
        self.logger = logger
        self.upstreams = upstreams
        self.cache = cache
        self.limiter = limiter
        self.clientAuth = clientAuth
    }

    /// `/v2/...` and `/<registry>/v2/...`: anything else (health checks, other services) is routed as usual.
    func handles(_ request: ResponderRequest) -> Bool {
        let uri = request.uri
        if uri.hasPrefix("/v2/") || uri == "/v2" || uri.hasPrefix("/v2?") { return true }
        guard uri.hasPrefix("/"), let slash = uri.dropFirst().firstIndex(of: "/") else { return false }
        let first = uri[uri.index(after: uri.startIndex)..<slash]
        return uri[slash...].hasPrefix("/v2/") && RegistryRequest.isRegistryHost(String(first))
    }

    func respond(to request: ResponderRequest) async -> ResponderResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return Self.error(RegistryError(.unsupported, "the mirror is read-only: \(request.method.rawValue) is not supported"),
                              method: request.method)
        }
        if let clientAuth = self.clientAuth, !clientAuth.allows(request.headers.first(name: "authorization")) {
            var response = Self.error(RegistryError(.unauthorized, "authentication required"), method: request.method)
            response.headers.replaceOrAdd(name: "www-authenticate", value: "Basic realm=\"mirrord\"")
            return response
        }
        let client = request.remoteAddress ?? "unknown"
        guard self.limiter.begin(client) else {
            var response = Self.error(RegistryError(.tooManyRequests, "too many concurrent requests from \(client)"),
                                      method: request.method)
            response.headers.replaceOrAdd(name: "retry-after", value: "1")
            return response
        }
        var response: ResponderResponse
        do {
            response = try await self.route(request)
        } catch let error as RegistryError {
            // Upstream trouble is the operator's business; a client's bad name is not (it is in the access log).
            if error.status >= 500 || error.code == .tooManyRequests || error.code == .denied {
                self.logger.warning("registry \(request.method.rawValue) \(request.uri): \(error.code.rawValue) \(error.message)")
            }
            response = Self.error(error, method: request.method)
        } catch {
            self.logger.warning("registry \(request.method.rawValue) \(request.uri): upstream failure: \(error)")
            response = Self.error(RegistryError(.unavailable, "upstream failure: \(error)"), method: request.method)
        }
        // The client's slot is held until its body has been sent, not just until the answer is ready.
        let limiter = self.limiter
        let release = Once { _ in limiter.end(client) }
        switch response.body {
        case .stream(let body):
            response.body = .stream(AsyncThrowingStream(body, onEnd: { release.call(0) }))
        case .file(var file):
            let onEnd = file.onEnd
            file.onEnd = { sent in
                onEnd(sent)
                release.call(0)
            }
            file.fallback = AsyncThrowingStream(file.fallback, onEnd: { release.call(0) })
            response.body = .file(file)
        case .segments(let segments):
            response.body = .segments(AsyncThrowingStream(segments, onEnd: { release.call(0) }))
        case .empty, .bytes:
            release.call(0)
        }
        return response
    }

    private func route(_ request: ResponderRequest) async throws -> ResponderResponse {
        let routed = request.clusterName.flatMap { self.upstreams.byCluster[$0] }
        let pinned = !request.virtualHostDomains.contains("*") ? routed : nil
        var parsed = try RegistryRequest(target: request.uri, defaultRegistry: pinned?.name)
        if parsed.registry == nil, pinned == nil, let routed, parsed.kind != .base {
            parsed = try RegistryRequest(target: request.uri, defaultRegistry: routed.name)
        }
        if case .base = parsed.kind { return Self.base() }
        let upstream: UpstreamRegistry
        if let named = parsed.registry {
            guard let found = self.upstreams.named(named) else {
                throw RegistryError(.nameUnknown, "registry '\(named)' is not mirrored here")
            }
            upstream = found
        } else if let routed {
            upstream = routed
        } else {
            throw RegistryError(.nameUnknown, "no upstream registry for this request; name one with a path prefix or ?ns=")
        }
        guard let name = parsed.name else { throw RegistryError(.nameInvalid, "missing repository name") }
        guard upstream.allows(name) else {
            throw RegistryError(.denied, "repository '\(name)' of \(upstream.name) is not allowed by this mirror")
        }
        var response: ResponderResponse
        switch parsed.kind {
        case .base:
            return Self.base()
        case .manifest(let reference):
            response = try await self.manifest(reference, name: name, upstream: upstream, request: request)
        case .blob(let digest):
            response = try await self.blob(digest, name: name, upstream: upstream, request: request)
        case .tags(let count, let last):
            response = try await self.tags(name: name, count: count, last: last, upstream: upstream, request: request,
                                           namespace: parsed.query["ns"])
        case .referrers(let digest):
            response = try await self.referrers(digest, name: name, upstream: upstream, request: request,
                                                artifactType: parsed.query["artifactType"])
        }
        if let ns = parsed.query["ns"] { response.headers.replaceOrAdd(name: "oci-namespace", value: ns) }
        return response
    }

    static func base() -> ResponderResponse {
        var headers = HTTPHeaders()
        headers.add(name: "docker-distribution-api-version", value: "registry/2.0")
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: "2")
        return ResponderResponse(status: .ok, headers: headers, body: .bytes(ByteBuffer(string: "{}")))
    }

    static func error(_ error: RegistryError, method: HTTPMethod) -> ResponderResponse {
        var headers = HTTPHeaders()
        let body = ByteBuffer(string: error.json)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "docker-distribution-api-version", value: "registry/2.0")
        return ResponderResponse(status: HTTPResponseStatus(statusCode: error.status), headers: headers,
                                 body: method == .HEAD ? .empty : .bytes(body))
    }

    /// The client-facing error for an upstream's non-success answer.
    static func upstreamError(_ status: Int, notFound: RegistryErrorCode, what: String, retryAfter: String?) -> RegistryError {
        switch status {
        case 404: return RegistryError(notFound, "\(what) not found upstream")
        case 401, 403: return RegistryError(.denied, "the upstream refused access to \(what)")
        case 429: return RegistryError(.tooManyRequests, "the upstream is rate-limiting the mirror" + (retryAfter.map { "; retry after \($0)" } ?? ""))
        case 400..<500: return RegistryError(notFound, "the upstream answered \(status) for \(what)")
        default: return RegistryError(.unavailable, "the upstream answered \(status) for \(what)")
        }
    }

    /// The headers every content response carries.
    static func contentHeaders(digest: Digest, mediaType: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: mediaType)
        headers.add(name: "docker-content-digest", value: digest.description)
        headers.add(name: "etag", value: "\"\(digest)\"")
        headers.add(name: "docker-distribution-api-version", value: "registry/2.0")
        return headers
    }
}
