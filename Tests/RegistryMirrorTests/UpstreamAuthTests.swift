import Foundation
import Testing
@testable import RegistryMirror

/// Challenges as real registries send them, tokens and their lifetimes, the SSRF guard, and redirects.
@Suite struct UpstreamAuthTests {
    @Test func dockerHubsChallengeParses() {
        let header = #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#
        let challenges = AuthChallenge.parse(header)
        #expect(challenges.count == 1)
        #expect(challenges.first?.scheme == .bearer)
        #expect(challenges.first?.realm == "https://auth.docker.io/token")
        #expect(challenges.first?.service == "registry.docker.io")
        #expect(challenges.first?.scope == "repository:library/alpine:pull")
    }

    @Test func severalChallengesEscapesAndUnknownSchemes() {
        let header = #"Negotiate abc, Basic realm="Registry \"Realm\"", bearer realm=https://gcr.io/v2/token, service="gcr.io", error="invalid_token""#
        let challenges = AuthChallenge.parse(header)
        #expect(challenges.map(\.scheme) == [.basic, .bearer])
        #expect(challenges[0].realm == #"Registry "Realm""#)
        #expect(challenges[1].realm == "https://gcr.io/v2/token")
        #expect(challenges[1].service == "gcr.io")
        #expect(challenges[1].parameters["error"] == "invalid_token")
        #expect(AuthChallenge.parse("").isEmpty)
    }

    @Test func tokensKeepTheirLifetimeAndRenewEarly() async throws {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let token = try RegistryToken(json: Data(#"{"token":"abc","expires_in":300,"issued_at":"1970-01-12T13:46:40Z"}"#.utf8), now: now)
        #expect(token.value == "abc")
        #expect(token.expires == now.addingTimeInterval(300))
        #expect(token.isUsable(at: now.addingTimeInterval(289)))
        #expect(!token.isUsable(at: now.addingTimeInterval(291)))
        let defaulted = try RegistryToken(json: Data(#"{"access_token":"xyz"}"#.utf8), now: now)
        #expect(defaulted.expires == now.addingTimeInterval(60))
        #expect(throws: RegistryToken.TokenError.self) { try RegistryToken(json: Data(#"{"expires_in":1}"#.utf8)) }
        let cache = TokenCache()
        let key = TokenCache.Key(upstream: "docker.io", scope: "repository:library/alpine:pull")
        await cache.store(token, for: key)
        #expect(await cache.token(for: key, now: now) == token)
        #expect(await cache.token(for: TokenCache.Key(upstream: "docker.io", scope: "repository:other:pull"), now: now) == nil)
        #expect(await cache.token(for: key, now: now.addingTimeInterval(295)) == nil)   // expired and dropped
        #expect(await cache.count == 0)
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("10.1.2.3", true), ("172.16.0.1", true), ("172.32.0.1", false), ("192.168.1.1", true),
        ("169.254.169.254", true), ("100.64.0.1", true), ("0.0.0.0", true), ("224.0.0.1", true),
        ("8.8.8.8", false), ("52.1.2.3", false), ("::1", true), ("::", true), ("fe80::1", true), ("fd00::1", true),
        ("::ffff:127.0.0.1", true), ("::ffff:8.8.8.8", false), ("2606:4700::1111", false), ("not-an-ip", true),
    ])
    func internalAddresses(address: String, isInternal: Bool) {
        #expect(AddressPolicy.isInternal(address) == isInternal)
        #expect(AddressPolicy().allows(address) == !isInternal)
        #expect(AddressPolicy(allowPrivate: true).allows(address))
    }

    @Test func redirectsFollowTheRules() throws {
        let policy = RedirectPolicy()
        let blob = URL(string: "https://registry-1.docker.io/v2/library/alpine/blobs/sha256:abc")!
        let cdn = try policy.next(from: blob, status: 307, location: "https://production.cloudflare.docker.com/registry-v2/x?sig=1", hops: 0)
        #expect(cdn.url.absoluteString == "https://production.cloudflare.docker.com/registry-v2/x?sig=1")
        #expect(!cdn.keepAuthorization)
        let relative = try policy.next(from: blob, status: 302, location: "/v2/library/alpine/blobs/other", hops: 1)
        #expect(relative.url.absoluteString == "https://registry-1.docker.io/v2/library/alpine/blobs/other")
        #expect(relative.keepAuthorization)
        #expect(throws: RedirectPolicy.Refusal.tooManyRedirects) { try policy.next(from: blob, status: 302, location: "/x", hops: 5) }
        #expect(throws: RedirectPolicy.Refusal.missingLocation) { try policy.next(from: blob, status: 302, location: nil, hops: 0) }
        #expect(throws: RedirectPolicy.Refusal.schemeDowngrade("http://cdn.example/x")) {
            try policy.next(from: blob, status: 302, location: "http://cdn.example/x", hops: 0)
        }
        #expect(throws: RedirectPolicy.Refusal.badLocation("file:///etc/passwd")) {
            try policy.next(from: blob, status: 302, location: "file:///etc/passwd", hops: 0)
        }
    }
}
