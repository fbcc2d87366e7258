import Foundation
import NIOCore
import NIOHTTP1
import ProxyCore

/// Tag lists and referrers: passed through from the upstream (they change, and their paging is the upstream's),
/// with the `Link` to the next page rewritten to the path the client used.
extension RegistryResponder {
    func tags(name: RepositoryName, count: Int?, last: String?, upstream: UpstreamRegistry, request: ResponderRequest,
              namespace: String?) async throws -> ResponderResponse {
        var query: [String] = []
        if let count { query.append("n=\(count)") }
        if let last {
            guard Tag(parsing: last) != nil else { throw RegistryError(.unsupported, "last must be a tag") }
            query.append("last=\(last)")
        }
        let path = "/v2/\(name.value)/tags/list" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        var response = try await self.passThrough(path, name: name, upstream: upstream, request: request,
                                                  notFound: .nameUnknown, what: "repository \(name)")
        if let link = response.headers.first(name: "link"), let open = link.firstIndex(of: "<"),
           let close = link.firstIndex(of: ">"), open < close {
            let target = link[link.index(after: open)..<close]
            let clientPath = String(request.uri.prefix { $0 != "?" })
            let nextQuery = target.firstIndex(of: "?").map { String(target[$0...]) } ?? ""
            var rewritten = clientPath + nextQuery
            if let ns = namespace { rewritten += (nextQuery.isEmpty ? "?" : "&") + "ns=\(ns)" }
            response.headers.replaceOrAdd(name: "link", value: "<\(rewritten)>" + link[link.index(after: close)...])
        }
        return response
    }

    func referrers(_ digest: Digest, name: RepositoryName, upstream: UpstreamRegistry, request: ResponderRequest,
                   artifactType: String?) async throws -> ResponderResponse {
        var path = "/v2/\(name.value)/referrers/\(digest)"
        if let type = artifactType {
            guard type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "./+-_".contains($0)) }) else {
                throw RegistryError(.unsupported, "invalid artifactType")
            }
            path += "?artifactType=" + type
        }
        return try await self.passThrough(path, name: name, upstream: upstream, request: request,
                                          notFound: .manifestUnknown, what: "referrers of \(digest)")
    }

    private func passThrough(_ path: String, name: RepositoryName, upstream: UpstreamRegistry, request: ResponderRequest,
                             notFound: RegistryErrorCode, what: String) async throws -> ResponderResponse {
        let response = try await upstream.fetch(.GET, path: path, repository: name)
        guard response.status == 200 else {
            await response.discard()
            throw Self.upstreamError(response.status, notFound: notFound, what: what, retryAfter: response.header("retry-after"))
        }
        let body = try await response.collect(limit: ManifestStore.sizeLimit)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.header("content-type") ?? "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "docker-distribution-api-version", value: "registry/2.0")
        if let link = response.header("link") { headers.add(name: "link", value: link) }
        if let filters = response.header("oci-filters-applied") { headers.add(name: "oci-filters-applied", value: filters) }
        return ResponderResponse(status: .ok, headers: headers, body: request.method == .HEAD ? .empty : .bytes(body))
    }
}
