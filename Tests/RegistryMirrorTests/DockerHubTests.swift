import Foundation
import NIOPosix
import Testing
@testable import RegistryMirror

/// Pulls from the Docker Hub stand-in: auth and CDN redirects handled server-side, one upstream fetch per blob
/// however many clients ask, and faults that must never leave a wrong byte in the cache.
@Suite(.serialized, .enabled(if: ExternalProcess.available("skopeo", "curl"), "needs skopeo and curl (scripts/test.sh installs them)"))
struct DockerHubTests {
    static func random(_ count: Int) -> Data { Data((0..<count).map { _ in UInt8.random(in: 0...255) }) }

    static func start(options: String = "", filter: String = "") async throws -> (FakeDockerHub, MirrorHarness) {
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "hub", registryName: "docker.io", port: hub.registryPort, options: options)],
            filterOptions: filter)
        return (hub, mirror)
    }

    @Test func officialImageThroughTokenRealmAndCDNRedirects() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let image = hub.addImage("library/alpine", tag: "3", layers: [Self.random(200_000), Self.random(50_000)])
        // A single-component Docker Hub name gets library/; the client never sees the challenge or the CDN.
        let pulled = try await SkopeoPull.pull("127.0.0.1:\(mirror.port)/docker.io/alpine:3")
        #expect(pulled == Set(image.blobs))
        for blob in image.blobs {
            #expect(hub.count("registry", "GET /v2/library/alpine/blobs/\(blob)") == 1)
            #expect(hub.count("cdn", blob) == 1)
        }
        // Tag resolved by HEAD (once challenged, once with the token), manifest fetched by digest: no GET by tag.
        #expect(hub.count("registry", "HEAD /v2/library/alpine/manifests/3") == 2)
        #expect(hub.count("registry", "GET /v2/library/alpine/manifests/3") == 0)
        #expect(hub.count("auth", "/token") == 1)   // one token, cached for the scope
        // Plain /v2/<name> on the catch-all host (Docker's registry-mirrors) goes to the routed registry.
        let again = try await SkopeoPull.pull("127.0.0.1:\(mirror.port)/library/alpine:3")
        #expect(again == pulled)
        #expect(hub.count("cdn", "/") == image.blobs.count)   // nothing fetched twice
    }

    @Test func twentyConcurrentColdPullsFetchEachBlobOnce() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let image = hub.addImage("team/big", tag: "v1", layers: [Self.random(1_500_000), Self.random(700_000)])
        for blob in image.blobs { hub.setFault(.slow(milliseconds: 300), for: blob) }
        let reference = "127.0.0.1:\(mirror.port)/docker.io/team/big:v1"
        let results = try await withThrowingTaskGroup(of: Set<String>.self) { group in
            for _ in 0..<20 { group.addTask { try await SkopeoPull.pull(reference) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 20)
        #expect(results.allSatisfy { $0 == Set(image.blobs) })
        for blob in image.blobs {
            #expect(hub.count("cdn", blob) == 1, "upstream GETs of \(blob)")
        }
    }

    @Test func truncatedAndCorruptedBlobsAreNeverCached() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let image = hub.addImage("team/fragile", tag: "v1", layers: [Self.random(400_000)])
        let layer = image.blobs[1]
        let reference = "127.0.0.1:\(mirror.port)/docker.io/team/fragile:v1"
        let stored = mirror.cacheDirectory + "/blobs/sha256/" + layer.dropFirst(7).prefix(2) + "/" + layer.dropFirst(7)
        for fault in [FakeDockerHub.Fault.truncate, .corrupt] {
            hub.setFault(fault, for: layer)
            await #expect(throws: (any Error).self) { try await SkopeoPull.pull(reference) }
            #expect(!FileManager.default.fileExists(atPath: stored), "\(fault) left a blob in the cache")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: mirror.cacheDirectory + "/tmp")
            #expect(leftovers.isEmpty)
        }
        #expect(mirror.stat("registry.hub.verification_failed") >= 1)
        hub.setFault(nil, for: layer)
        #expect(try await SkopeoPull.pull(reference) == Set(image.blobs))
        #expect(FileManager.default.fileExists(atPath: stored))
    }

    @Test func upstreamErrorsAndStaleTags() async throws {
        let (hub, mirror) = try await Self.start(options: "tag_ttl: 0s")
        defer { Task { await mirror.stop(); await hub.stop() } }
        let image = hub.addImage("team/app", tag: "v1", layers: [Self.random(10_000)])
        let base = "http://127.0.0.1:\(mirror.port)/v2/docker.io/team/app"
        let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json"
        let first = try await Curl.get(base + "/manifests/v1", headers: [accept])
        #expect(first.status == 200)
        #expect(first.headers["docker-content-digest"] == image.manifest)
        #expect(first.headers["docker-ratelimit-source"] == nil)
        // The upstream fails: the last known digest is served, marked stale.
        hub.setFault(.status(503), for: "manifest")
        let stale = try await Curl.get(base + "/manifests/v1", headers: [accept])
        #expect(stale.status == 200)
        #expect(stale.headers["warning"]?.hasPrefix("299 - ") == true)
        #expect(stale.body == first.body)
        // HEAD carries the digest and length too.
        let head = try await Curl.get(base + "/manifests/v1", method: "HEAD", headers: [accept])
        #expect(head.status == 200)
        #expect(head.headers["content-length"] == String(first.body.count))
        #expect(head.headers["docker-content-digest"] == image.manifest)
        // An unknown tag with the upstream failing has nothing to fall back on.
        let unknown = try await Curl.get(base + "/manifests/v2", headers: [accept])
        #expect(unknown.status == 503)
        hub.setFault(nil, for: "manifest")
        // Blob errors map to the spec's codes; 429 keeps its Retry-After hint.
        let layer = image.blobs[1]
        hub.setFault(.status(429), for: layer)
        let limited = try await Curl.get(base + "/blobs/\(layer)")
        #expect(limited.status == 429)
        #expect(String(decoding: limited.body, as: UTF8.self).contains("TOOMANYREQUESTS"))
        #expect(mirror.stat("registry.hub.upstream_rq_429") == 1)
        hub.setFault(nil, for: layer)
        let missing = try await Curl.get(base + "/blobs/sha256:" + String(repeating: "0", count: 64))
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("BLOB_UNKNOWN"))
    }

    /// `tag_stale_while_revalidate`: past the TTL, the known digest goes out at once while the upstream is asked in
    /// the background (once however many pulls come); a moved tag is picked up, a removed one forgotten.
    @Test func staleWhileRevalidateServesAtOnceAndRefreshesInTheBackground() async throws {
        let (hub, mirror) = try await Self.start(options: "tag_ttl: 0s\ntag_stale_while_revalidate: 3600s")
        defer { Task { await mirror.stop(); await hub.stop() } }
        let first = hub.addImage("team/swr", tag: "v1", layers: [Self.random(5_000)])
        let url = "http://127.0.0.1:\(mirror.port)/v2/docker.io/team/swr/manifests/v1"
        let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json"
        #expect(try await Curl.get(url, headers: [accept]).headers["docker-content-digest"] == first.manifest)

        // The tag moves upstream, and the upstream becomes slow: pulls get the known digest without waiting.
        let second = hub.addImage("team/swr", tag: "v1", layers: [Self.random(6_000)])
        hub.setFault(.slow(milliseconds: 3_000), for: "manifest")
        hub.resetCounts()
        let started = ContinuousClock.now
        for _ in 0..<3 {
            let served = try await Curl.get(url, headers: [accept])
            #expect(served.status == 200)
            #expect(served.headers["docker-content-digest"] == first.manifest)
            #expect(served.headers["warning"] == nil)
        }
        #expect(ContinuousClock.now - started < .milliseconds(2_500), "a pull waited for the slow upstream")
        #expect(mirror.stat("registry.hub.tag_revalidations") == 3)
        for _ in 0..<100 where hub.count("registry", "HEAD /v2/team/swr/manifests/v1") == 0 {
            try await Task.sleep(for: .milliseconds(20))   // the background check may not have left yet on a busy machine
        }
        #expect(hub.count("registry", "HEAD /v2/team/swr/manifests/v1") == 1, "one background check for three pulls")
        hub.setFault(nil, for: "manifest")

        // Once the background check is back, the moved tag is served (its manifest fetched in the background too).
        var digest: String?
        for _ in 0..<100 where digest != second.manifest {
            try await Task.sleep(for: .milliseconds(100))
            digest = try await Curl.get(url, headers: [accept]).headers["docker-content-digest"]
        }
        #expect(digest == second.manifest)

        // The tag is deleted upstream: the next background check forgets it, and then the mirror says so.
        hub.state.withLock { $0.manifests["team/swr:v1"] = nil }
        var status = 200
        for _ in 0..<100 where status == 200 {
            try await Task.sleep(for: .milliseconds(100))
            status = try await Curl.get(url, headers: [accept]).status
        }
        #expect(status == 404)
    }

    /// An upstream that stalls in the middle of a blob is cut after the idle timeout (3 s in the harness): the
    /// client gets an error, nothing is cached, and the next request fetches the blob again.
    @Test func aStalledUpstreamIsCutAndNothingIsCached() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let bytes = Self.random(400_000)
        let image = hub.addImage("team/stall", tag: "v1", layers: [bytes])
        let layer = image.blobs[1]
        hub.setFault(.stall(afterBytes: 100_000), for: layer)
        let url = "http://127.0.0.1:\(mirror.port)/v2/docker.io/team/stall/blobs/\(layer)"
        let started = ContinuousClock.now
        // curl reports the cut transfer ("transfer closed with ... bytes remaining") as a failure.
        await #expect(throws: ExternalProcess.Failure.self) { try await Curl.get(url, extra: ["--max-time", "20"]) }
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(try FileManager.default.contentsOfDirectory(atPath: mirror.cacheDirectory + "/tmp").isEmpty)
        #expect(mirror.stat("registry.hub.upstream_errors") == 1)
        hub.setFault(nil, for: layer)
        let whole = try await Curl.get(url)
        #expect(whole.status == 200)
        #expect(whole.body == bytes)
    }

    @Test func rangesOnHitsAndOnBlobsStillArriving() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let bytes = Self.random(600_000)
        let image = hub.addImage("team/ranged", tag: "v1", layers: [bytes])
        let layer = image.blobs[1]
        hub.setFault(.slow(milliseconds: 500), for: layer)
        let url = "http://127.0.0.1:\(mirror.port)/v2/docker.io/team/ranged/blobs/\(layer)"
        // A resume while the blob is still arriving: 206 with exactly the asked bytes.
        let inFlight = try await Curl.get(url, headers: ["Range: bytes=500000-"])
        #expect(inFlight.status == 206)
        #expect(inFlight.headers["content-range"] == "bytes 500000-599999/600000")
        #expect(inFlight.body == bytes.subdata(in: 500_000..<600_000))
        // From the cache: a single range, a suffix range, several ranges, and one past the end.
        let single = try await Curl.get(url, headers: ["Range: bytes=10-19"])
        #expect(single.status == 206)
        #expect(single.body == bytes.subdata(in: 10..<20))
        let suffix = try await Curl.get(url, headers: ["Range: bytes=-5"])
        #expect(suffix.body == bytes.suffix(5))
        let multi = try await Curl.get(url, headers: ["Range: bytes=0-1,100-101"])
        #expect(multi.status == 206)
        #expect(multi.headers["content-type"]?.hasPrefix("multipart/byteranges; boundary=") == true)
        let text = String(decoding: multi.body, as: UTF8.self)
        #expect(text.contains("Content-Range: bytes 0-1/600000") && text.contains("Content-Range: bytes 100-101/600000"))
        let beyond = try await Curl.get(url, headers: ["Range: bytes=700000-"])
        #expect(beyond.status == 416)
        #expect(hub.count("cdn", layer) == 1)
    }

    /// A client that asks the connection to close and reads slowly still gets every byte: the connection closes
    /// only once the response has left the process (closing drops queued writes).
    @Test func connectionCloseWithASlowReaderGetsTheWholeBlob() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let bytes = Self.random(6_000_000)
        let image = hub.addImage("team/large", tag: "v1", layers: [bytes])
        let url = "http://127.0.0.1:\(mirror.port)/v2/docker.io/team/large/blobs/\(image.blobs[1])"
        for _ in 0..<2 {   // a miss, then a hit
            let response = try await Curl.get(url, headers: ["Connection: close"], extra: ["--limit-rate", "30M"])
            #expect(response.status == 200)
            #expect(response.body.count == bytes.count)
            #expect(response.body == bytes)
        }
    }

    @Test func tagListPagesWithTheLinkRewrittenForTheClient() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        for tag in ["1.0", "1.1", "2.0"] { hub.addImage("library/nginx", tag: tag, layers: [Self.random(10)]) }
        let root = "http://127.0.0.1:\(mirror.port)"
        let first = try await Curl.get(root + "/v2/docker.io/nginx/tags/list?n=2")
        #expect(String(decoding: first.body, as: UTF8.self).contains("[\"1.0\",\"1.1\"]"))
        let link = try #require(first.headers["link"])
        #expect(link == "</v2/docker.io/nginx/tags/list?n=2&last=1.1>; rel=\"next\"")
        let next = try await Curl.get(root + String(link.dropFirst().prefix { $0 != ">" }))
        #expect(String(decoding: next.body, as: UTF8.self).contains("[\"2.0\"]"))
        #expect(next.headers["link"] == nil)
        // containerd's form keeps its ns on the next page.
        let ns = try await Curl.get(root + "/v2/library/nginx/tags/list?n=1&ns=docker.io")
        #expect(ns.headers["link"] == "</v2/library/nginx/tags/list?n=1&last=1.0&ns=docker.io>; rel=\"next\"")
    }

    /// HTTP/2 streams cannot carry sendfile regions: blobs still arriving and cached ones go out as byte streams.
    @Test func blobsOverH2C() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let bytes = Self.random(2_000_000)
        let image = hub.addImage("team/h2", tag: "v1", layers: [bytes])
        let url = "http://127.0.0.1:\(mirror.port)/v2/docker.io/team/h2/blobs/\(image.blobs[1])"
        for _ in 0..<2 {   // a miss, then a hit
            let response = try await Curl.get(url, extra: ["--http2-prior-knowledge"])
            #expect(response.status == 200)
            #expect(response.body == bytes)
        }
        let ranged = try await Curl.get(url, headers: ["Range: bytes=100-199"], extra: ["--http2-prior-knowledge"])
        #expect(ranged.status == 206)
        #expect(ranged.body == bytes.subdata(in: 100..<200))
    }

    @Test func routingFormsAndRefusals() async throws {
        let (hub, mirror) = try await Self.start()
        defer { Task { await mirror.stop(); await hub.stop() } }
        let image = hub.addImage("library/busybox", tag: "1", layers: [Self.random(1_000)])
        let root = "http://127.0.0.1:\(mirror.port)"
        let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json"
        let version = try await Curl.get(root + "/v2/")
        #expect(version.status == 200)
        #expect(version.headers["docker-distribution-api-version"] == "registry/2.0")
        #expect(version.headers["www-authenticate"] == nil)
        // containerd's ?ns= and the registry-first form reach the same content; ns is echoed.
        let ns = try await Curl.get(root + "/v2/library/busybox/manifests/1?ns=docker.io", headers: [accept])
        #expect(ns.status == 200)
        #expect(ns.headers["oci-namespace"] == "docker.io")
        let first = try await Curl.get(root + "/docker.io/v2/busybox/manifests/1", headers: [accept])
        #expect(first.headers["docker-content-digest"] == image.manifest)
        // No open relay: registries the configuration does not name are unknown.
        let relay = try await Curl.get(root + "/v2/evil.example.com/x/y/manifests/latest")
        #expect(relay.status == 404)
        #expect(String(decoding: relay.body, as: UTF8.self).contains("NAME_UNKNOWN"))
        // ns contradicting the path's registry is refused.
        let contradiction = try await Curl.get(root + "/v2/docker.io/team/app/manifests/1?ns=quay.io")
        #expect(contradiction.status == 403)
        // Names and digests are checked before they touch a URL or a file.
        for path in ["/v2/docker.io/Team/App/manifests/1", "/v2/docker.io/team/app/blobs/sha256:..%2f..%2fetc",
                     "/v2/docker.io/team/app/blobs/sha256:abc", "/v2/docker.io/team%2f..%2f..%2fapp/manifests/1",
                     "/v2/docker.io/team/app/manifests/bad%20tag"] {
            let refused = try await Curl.get(root + path)
            #expect(refused.status == 400, "\(path) answered \(refused.status)")
        }
        let cacheFiles = try FileManager.default.subpathsOfDirectory(atPath: mirror.cacheDirectory)
        #expect(cacheFiles.allSatisfy { !$0.contains("..") && !$0.contains("etc") })
        #expect(hub.count("registry", "team/app") == 0)
    }
}

/// The mirror's own protections: client authentication, the per-client concurrency limit, repository lists,
/// the read-only API, and the address policy for upstreams.
@Suite(.serialized, .enabled(if: ExternalProcess.available("curl", "htpasswd"), "needs curl and htpasswd (scripts/test.sh installs them)"))
struct MirrorPolicyTests {
    @Test func basicAuthAgainstAnHtpasswdFile() async throws {
        let directory = try ExternalProcess.temporaryDirectory("htpasswd")
        try await ExternalProcess.run(["htpasswd", "-B", "-b", "-c", directory + "/htpasswd", "puller", "pa55word"])
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "hub", registryName: "docker.io", port: hub.registryPort)],
            filterOptions: "client_auth: {htpasswd: {filename: \(directory)/htpasswd}}")
        defer { Task { await mirror.stop(); await hub.stop() } }
        hub.addImage("library/redis", tag: "7", layers: [DockerHubTests.random(100)])
        let root = "http://127.0.0.1:\(mirror.port)"
        let anonymous = try await Curl.get(root + "/v2/")
        #expect(anonymous.status == 401)
        #expect(anonymous.headers["www-authenticate"] == "Basic realm=\"mirrord\"")
        let wrong = try await Curl.get(root + "/v2/", headers: ["Authorization: Basic " + Data("puller:nope".utf8).base64EncodedString()])
        #expect(wrong.status == 401)
        let good = "Authorization: Basic " + Data("puller:pa55word".utf8).base64EncodedString()
        #expect(try await Curl.get(root + "/v2/", headers: [good]).status == 200)
        let manifest = try await Curl.get(root + "/v2/docker.io/redis/manifests/7", headers: [good])
        #expect(manifest.status == 200)
    }

    @Test func perClientLimitRepositoryListsAndReadOnly() async throws {
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "hub", registryName: "docker.io", port: hub.registryPort,
                              options: "repositories: {allow: [\"library/*\", \"team/**\"], deny: [\"team/secret*\"]}")],
            filterOptions: "max_requests_per_client: 1")
        defer { Task { await mirror.stop(); await hub.stop() } }
        let image = hub.addImage("library/slow", tag: "1", layers: [DockerHubTests.random(300_000)])
        hub.setFault(.slow(milliseconds: 1500), for: image.blobs[1])
        let root = "http://127.0.0.1:\(mirror.port)/v2/docker.io"
        // While one request of this client is in flight (its blob is on its way from the CDN), a second one is
        // refused with 429.
        async let slow = Curl.get(root + "/library/slow/blobs/\(image.blobs[1])")
        for _ in 0..<200 where hub.count("cdn", image.blobs[1]) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let second = try await Curl.get(root + "/library/slow/manifests/1")
        #expect(second.status == 429)
        #expect(String(decoding: second.body, as: UTF8.self).contains("TOOMANYREQUESTS"))
        #expect(try await slow.status == 200)
        // Allow and deny lists.
        #expect(try await Curl.get(root + "/other/app/manifests/1").status == 403)
        #expect(try await Curl.get(root + "/team/secret-app/manifests/1").status == 403)
        #expect(try await Curl.get(root + "/team/deep/app/manifests/1").status == 404)   // allowed, unknown upstream
        // Writes are refused.
        #expect(try await Curl.get(root + "/library/slow/blobs/uploads/", method: "POST").status == 405)
    }

    @Test func aRouteCanTurnTheMirrorOff() async throws {
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "hub", registryName: "docker.io", port: hub.registryPort)],
            mirrorDisabledOnDefaultRoute: true)
        defer { Task { await mirror.stop(); await hub.stop() } }
        // The router forwards the request as a plain proxy: the upstream's own challenge comes back.
        let forwarded = try await Curl.get("http://127.0.0.1:\(mirror.port)/v2/")
        #expect(forwarded.status == 401)
        #expect(forwarded.headers["www-authenticate"]?.hasPrefix("Bearer realm=") == true)
        #expect(hub.count("registry", "GET /v2/") == 1)
    }

    @Test func upstreamsOnPrivateAddressesNeedTheOptIn() async throws {
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "hub", registryName: "docker.io", port: hub.registryPort)],
            filterOptions: "", allowPrivate: false)
        defer { Task { await mirror.stop(); await hub.stop() } }
        hub.addImage("library/redis", tag: "7", layers: [DockerHubTests.random(100)])
        let refused = try await Curl.get("http://127.0.0.1:\(mirror.port)/v2/docker.io/redis/manifests/7")
        #expect(refused.status == 503)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("loopback/private/link-local"))
        #expect(hub.count("registry", "/") == 0)
    }
}
