import Foundation
import NIOCore
import NIOHTTP1
import ProxyConfig

/// One upstream registry as the mirror talks to it: auth terminated here (Bearer tokens fetched and cached per
/// scope, Basic answered from the configured credentials), redirects followed here, every host checked against
/// the address policy. Clients never see an upstream's challenge or a CDN's URL.
public final class UpstreamRegistry: Sendable {
    /// The registry's canonical name (`docker.io`, `gcr.io`), used for routing, cache keys and stats.
    public let name: String
    public let clusterName: String
    public let baseURL: URL
    public let options: RegistryUpstreamOptions
    let credentials: Credentials?
    let policy: AddressPolicy
    let client: RegistryHTTPClient
    let tokens = TokenCache()
    public let tags: TagCache
    let stats: RegistryStats
    let redirects = RedirectPolicy()
    /// The cluster's configuration this was built from: an unchanged cluster keeps its tokens and tags on reload.
    let fingerprint: Cluster

    /// Records a tag's digest under this upstream's TTL and stale-while-revalidate window, as confirmed at `date`.
    func rememberTag(_ digest: Digest, for key: TagCache.Key, at date: Date = Date()) async {
        await self.tags.store(digest, for: key, ttl: self.options.tagTTL.timeInterval,
                              staleWhileRevalidate: self.options.tagStaleWhileRevalidate.timeInterval, now: date)
    }

    struct Credentials: Sendable {
        var username: String
        var password: String
        var basic: String { "Basic " + Data("\(self.username):\(self.password)".utf8).base64EncodedString() }
    }

    init(name: String, cluster: Cluster, baseURL: URL, options: RegistryUpstreamOptions, policy: AddressPolicy,
         client: RegistryHTTPClient, stats: RegistryStats) throws {
        self.name = name
        self.clusterName = cluster.name
        self.baseURL = baseURL
        self.options = options
        self.policy = policy
        self.client = client
        self.stats = stats
        self.fingerprint = cluster
        self.tags = TagCache()
        if let file = options.credentialsFile {
            guard let data = FileManager.default.contents(atPath: file),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let username = object["username"] as? String, let password = object["password"] as? String else {
                throw RegistryConfigurationError("cluster \(cluster.name): credentials file \(file) must be JSON with \"username\" and \"password\"")
            }
            self.credentials = Credentials(username: username, password: password)
        } else {
            self.credentials = nil
        }
    }

    /// Sends `method path` (a `/v2/...` path with query) for `repository`, answering auth challenges and following
    /// redirects. Returns the final response: 2xx, or the upstream's error status for the caller to map.
    public func fetch(_ method: HTTPMethod, path: String, headers: HTTPHeaders = [:], repository: RepositoryName?)
    async throws -> UpstreamResponse {
        guard var url = URL(string: path, relativeTo: self.baseURL)?.absoluteURL else {
            throw UpstreamFetchError.protocolError("cannot build a URL for \(path)")
        }
        let scope = repository.map { "repository:\($0.value):pull" } ?? "registry:catalog:*"
        let tokenKey = TokenCache.Key(upstream: self.name, scope: scope)
        var authorization: String? = await self.tokens.token(for: tokenKey).map { "Bearer \($0.value)" }
        var challenged = false
        var hops = 0
        while true {
            var requestHeaders = headers
            if let authorization { requestHeaders.replaceOrAdd(name: "authorization", value: authorization) }
            let response = try await self.client.send(method, url: url, headers: requestHeaders, policy: self.policy)
            let status = response.status
            if status == 401, !challenged {
                challenged = true
                let challenges = response.head.headers[canonicalForm: "www-authenticate"].flatMap { AuthChallenge.parse(String($0)) }
                let bearer = challenges.first(where: { $0.scheme == .bearer })
                let basic = challenges.contains(where: { $0.scheme == .basic }) && self.credentials != nil
                    && self.mayReceiveCredentials(url)
                guard bearer != nil || basic else { return response }
                await response.discard()
                if let bearer {
                    await self.tokens.invalidate(tokenKey)
                    let token = try await self.token(for: bearer, scope: scope, from: url)
                    if url.host?.lowercased() == self.baseURL.host?.lowercased() { await self.tokens.store(token, for: tokenKey) }
                    authorization = "Bearer \(token.value)"
                    continue
                }
                authorization = self.credentials?.basic
                continue
            }
            if RedirectPolicy.codes.contains(status) {
                let location = response.header("location")
                await response.discard()
                let hop = try self.redirects.next(from: url, status: status, location: location, hops: hops)
                hops += 1
                url = hop.url
                if !hop.keepAuthorization { authorization = nil }
                continue
            }
            if status == 429 { self.stats.upstream429.increment() }
            if status >= 500 { self.stats.upstreamErrors.increment() }
            return response
        }
    }

    /// Credentials go only to the upstream's own host, its registrable domain (Docker Hub's `auth.docker.io`
    /// for `registry-1.docker.io`), or realm hosts the configuration names: never to wherever a challenge points.
    func mayReceiveCredentials(_ url: URL) -> Bool {
        guard let host = url.host?.lowercased(), let base = self.baseURL.host?.lowercased() else { return false }
        if host == base || self.options.tokenRealmHosts.contains(where: { $0.lowercased() == host }) { return true }
        if IPv4Literal.matches(host) || host.contains(":") || host == "localhost" { return false }
        func domain(_ name: String) -> String { name.split(separator: ".").suffix(2).joined(separator: ".") }
        return name.split(separator: ".").count >= 2 && domain(host) == domain(base)
    }

    private func token(for challenge: AuthChallenge, scope: String, from url: URL) async throws -> RegistryToken {
        guard let realm = challenge.realm, var components = URLComponents(string: realm),
              let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http", components.host != nil else {
            throw RegistryError(.denied, "upstream \(self.name) sent an unusable token realm")
        }
        if scheme == "http", url.scheme?.lowercased() == "https" {
            throw RegistryError(.denied, "upstream \(self.name) points its token realm at plain http")
        }
        var query = components.queryItems ?? []
        if let service = challenge.service { query.append(URLQueryItem(name: "service", value: service)) }
        query.append(URLQueryItem(name: "scope", value: challenge.scope ?? scope))
        components.queryItems = query
        guard let realmURL = components.url else { throw RegistryError(.denied, "bad token realm") }
        var headers = HTTPHeaders()
        if let credentials = self.credentials, self.mayReceiveCredentials(realmURL) {
            headers.add(name: "authorization", value: credentials.basic)
        }
        let response = try await self.client.send(.GET, url: realmURL, headers: headers, policy: self.policy)
        let body = try await response.collect(limit: 1 << 20)
        guard response.status == 200 else {
            self.stats.tokenFailures.increment()
            throw RegistryError(.denied, "upstream \(self.name) refused a token (\(response.status))")
        }
        do {
            return try RegistryToken(json: Data(body.readableBytesView))
        } catch {
            self.stats.tokenFailures.increment()
            throw RegistryError(.denied, "upstream \(self.name) sent an unreadable token")
        }
    }
}

/// A dotted-quad host, which never shares a "registrable domain" with anything.
enum IPv4Literal {
    static func matches(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }
}

/// A registry configuration that cannot be used (a credentials file that does not parse).
public struct RegistryConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
