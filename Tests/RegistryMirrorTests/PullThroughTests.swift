import Foundation
import Testing
@testable import RegistryMirror

/// skopeo pulling through mirrord from Debian's docker-registry: every routing form, single- and multi-arch,
/// every blob's digest checked, and the second pull served from the cache with the upstream stopped.
@Suite(.serialized, .enabled(if: ExternalProcess.available("skopeo", "docker-registry"),
                             "needs skopeo and docker-registry (scripts/test.sh installs them)"))
struct PullThroughTests {
    @Test func pathPrefixAndHostBasedPullsThenCachedWithUpstreamStopped() async throws {
        let registry = try await DistributionRegistry()
        try await registry.waitUntilReady()
        let image = try await TestImage.make()
        try await image.push(to: "127.0.0.1:\(registry.port)/team/app")

        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "local", registryName: "registry.test", port: registry.port)], hosted: "local")
        defer { Task { await mirror.stop() } }

        // Path-prefix form (podman's and skopeo's mirror location with a path).
        let first = try await SkopeoPull.pull("127.0.0.1:\(mirror.port)/registry.test/team/app:v1")
        #expect(first.isSuperset(of: image.layerDigests))
        #expect(first.isSubset(of: image.digests))
        let missesAfterFirst = mirror.stat("registry.local.cache_miss")
        #expect(missesAfterFirst >= 3)   // manifest, config, layers

        // Host-based form (the seed's style): the virtual host names the registry.
        let second = try await SkopeoPull.pull("localhost:\(mirror.port)/team/app:v1")
        #expect(second == first)
        #expect(mirror.stat("registry.local.cache_hit") >= 3)

        // With the upstream gone, the cached image still pulls in full (the tag is within its TTL).
        registry.stop()
        let offline = try await SkopeoPull.pull("127.0.0.1:\(mirror.port)/registry.test/team/app:v1")
        #expect(offline == first)
    }

    @Test func multiArchPullWithAll() async throws {
        let registry = try await DistributionRegistry()
        try await registry.waitUntilReady()
        let image = try await TestImage.make(layers: 1, layerSize: 100_000, multiArch: true)
        try await image.push(to: "127.0.0.1:\(registry.port)/team/multi")
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "local", registryName: "registry.test", port: registry.port)])
        defer { Task { await mirror.stop() } }
        let pulled = try await SkopeoPull.pull("127.0.0.1:\(mirror.port)/registry.test/team/multi:v1", all: true)
        #expect(pulled.isSuperset(of: image.layerDigests))
        #expect(image.layerDigests.count == 2)
    }
}

/// docker-registry with token auth whose realm is another server (gcr.io's shape): the mirror answers the
/// challenge with the credentials file of its cluster, caches the token, and the client never sees a 401.
@Suite(.serialized, .enabled(if: ExternalProcess.available("skopeo", "docker-registry", "openssl"),
                             "needs skopeo, docker-registry and openssl (scripts/test.sh installs them)"))
struct TokenAuthPullTests {
    @Test func pullThroughATokenAuthenticatedUpstream() async throws {
        let issuer = try await TokenIssuer(username: "mirror", password: "s3cret", group: MirrorHarness.group)
        defer { Task { await issuer.stop() } }
        let registry = try await DistributionRegistry(tokenAuth: .init(
            realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, certificateBundle: issuer.certificateBundle))
        try await registry.waitUntilReady()
        let image = try await TestImage.make(layers: 1, layerSize: 50_000)
        try await image.push(to: "127.0.0.1:\(registry.port)/private/app", credentials: "mirror:s3cret")
        let credentials = try ExternalProcess.temporaryDirectory("credentials") + "/upstream.json"
        try Data("{\"username\":\"mirror\",\"password\":\"s3cret\"}".utf8).write(to: URL(fileURLWithPath: credentials))

        let anonymous = try await MirrorHarness.start(
            upstreams: [.init(cluster: "locked", registryName: "private.test", port: registry.port)])
        defer { Task { await anonymous.stop() } }
        // Without credentials the upstream refuses, and the client hears a plain DENIED, not the upstream's challenge.
        let refused = try await Curl.get("http://127.0.0.1:\(anonymous.port)/v2/private.test/private/app/manifests/v1")
        #expect(refused.status == 403)
        #expect(refused.headers["www-authenticate"] == nil)

        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "locked", registryName: "private.test", port: registry.port,
                              options: "credentials: {filename: \(credentials)}")])
        defer { Task { await mirror.stop() } }
        let before = issuer.requests.authenticated
        let pulled = try await SkopeoPull.pull("127.0.0.1:\(mirror.port)/private.test/private/app:v1")
        #expect(pulled.isSuperset(of: image.layerDigests))
        // One token for the repository's pull scope, reused for the manifest, the config and the layer.
        #expect(issuer.requests.authenticated - before == 1)
    }
}

/// The listing endpoints and content negotiation against docker-registry.
@Suite(.serialized, .enabled(if: ExternalProcess.available("skopeo", "docker-registry", "curl"),
                             "needs skopeo, docker-registry and curl (scripts/test.sh installs them)"))
struct ListingAndNegotiationTests {
    @Test func tagsListPagingReferrersAndAccept() async throws {
        let registry = try await DistributionRegistry()
        try await registry.waitUntilReady()
        let image = try await TestImage.make(layers: 1, layerSize: 10_000)
        for tag in ["v1", "v2", "v3"] {
            try await ExternalProcess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(image.layout):v1",
                                     "docker://127.0.0.1:\(registry.port)/team/app:\(tag)"])
        }
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "local", registryName: "registry.test", port: registry.port)])
        defer { Task { await mirror.stop() } }
        let root = "http://127.0.0.1:\(mirror.port)/v2/registry.test/team/app"
        let all = try await Curl.get(root + "/tags/list")
        #expect(all.status == 200)
        #expect(String(decoding: all.body, as: UTF8.self).contains("\"v1\",\"v2\",\"v3\""))
        // distribution 2.8 does not page tag lists (the Docker Hub stand-in covers paging and Link rewriting).
        // distribution 2.8 has no referrers API: its 404 stays a 404, so clients fall back to the tag schema.
        let digest = try #require(try await Curl.get(root + "/manifests/v1", headers: ["Accept: application/vnd.oci.image.manifest.v1+json"]).headers["docker-content-digest"])
        #expect(try await Curl.get(root + "/referrers/\(digest)").status == 404)
        // The stored OCI manifest is never converted: a client that accepts only Docker types is told so.
        let refused = try await Curl.get(root + "/manifests/v1", headers: ["Accept: application/vnd.docker.distribution.manifest.v2+json"])
        #expect(refused.status == 404)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("MANIFEST_UNKNOWN"))
        let accepted = try await Curl.get(root + "/manifests/\(digest)", headers: ["Accept: application/vnd.oci.image.manifest.v1+json"])
        #expect(accepted.headers["content-type"] == "application/vnd.oci.image.manifest.v1+json")
        #expect(TestImage.sha256(accepted.body) == digest)
        #expect(image.digests.contains(digest))
        #expect(try await Curl.get(root + "/tags/list", method: "HEAD").headers["content-length"] == String(all.body.count))
    }
}

/// podman pulling through mirrord as its users configure it: a `registries.conf` mirror with a path (what
/// `mirrorctl init` prints), storage in its own root with the vfs driver, layers unpacked.
@Suite(.serialized, .enabled(if: ExternalProcess.available("podman", "skopeo", "docker-registry"),
                             "needs podman, skopeo and docker-registry (scripts/test.sh installs them)"))
struct PodmanPullTests {
    @Test func podmanPullsThroughARegistriesConfMirror() async throws {
        let registry = try await DistributionRegistry()
        try await registry.waitUntilReady()
        let image = try await TestImage.make(layers: 2, layerSize: 100_000)
        try await image.push(to: "127.0.0.1:\(registry.port)/team/podapp")
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "local", registryName: "registry.test", port: registry.port)])
        defer { Task { await mirror.stop() } }
        let directory = try ExternalProcess.temporaryDirectory("podman")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            [[registry]]
            prefix = "registry.test"
            location = "registry.test"
            [[registry.mirror]]
            location = "127.0.0.1:\(mirror.port)/registry.test"
            insecure = true
            """.write(toFile: directory + "/registries.conf", atomically: true, encoding: .utf8)
        let output = try await ExternalProcess.offPool {
            try ExternalProcess.runBlocking(["podman", "--root", directory + "/root", "--runroot", directory + "/run",
                                     "--storage-driver", "vfs", "pull", "registry.test/team/podapp:v1"],
                                    environment: ["CONTAINERS_REGISTRIES_CONF": directory + "/registries.conf"])
        }
        #expect(output.contains("Writing manifest to image destination"))
        // podman verified every layer's digest and unpacked it; the mirror fetched each blob once.
        #expect(mirror.stat("registry.local.cache_miss") >= 1 + image.layerDigests.count)
        let images = try await ExternalProcess.run(["podman", "--root", directory + "/root", "--runroot", directory + "/run",
                                              "--storage-driver", "vfs", "images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(images.contains("registry.test/team/podapp:v1"))
    }
}

/// containerd pulling through mirrord as `mirrorctl init` tells users to configure it: `hosts.toml` with the mirror
/// as a host (containerd then sends `?ns=<registry>` on plain `/v2/<name>` paths) and the real registry as the
/// server it would fall back to. The daemon runs with its own root, state and socket.
@Suite(.serialized, .enabled(if: ExternalProcess.available("containerd", "ctr", "skopeo", "docker-registry"),
                             "needs containerd, skopeo and docker-registry (scripts/test.sh installs them)"))
struct ContainerdPullTests {
    @Test func containerdPullsThroughAHostsTomlMirror() async throws {
        let registry = try await DistributionRegistry()
        try await registry.waitUntilReady()
        let image = try await TestImage.make(layers: 2, layerSize: 100_000)
        try await image.push(to: "127.0.0.1:\(registry.port)/team/ctrapp")
        // Plain /v2/<name> paths go to another registry here (the Docker Hub stand-in), so only containerd's
        // ?ns=registry.test can reach the image.
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "hub", registryName: "docker.io", port: hub.registryPort),
                        .init(cluster: "local", registryName: "registry.test", port: registry.port)],
            defaultCluster: "hub")
        defer { Task { await mirror.stop(); await hub.stop() } }
        let directory = try ExternalProcess.temporaryDirectory("ctrd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/containerd.sock"
        try """
            version = 2
            root = "\(directory)/root"
            state = "\(directory)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(socket)"
            """.write(toFile: directory + "/config.toml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/hosts/registry.test", withIntermediateDirectories: true)
        try """
            server = "https://registry.test"
            [host."http://127.0.0.1:\(mirror.port)"]
              capabilities = ["pull", "resolve"]
              dial_timeout = "2s"
            """.write(toFile: directory + "/hosts/registry.test/hosts.toml", atomically: true, encoding: .utf8)
        let daemon = try ChildProcess(["containerd", "--config", directory + "/config.toml"], log: directory + "/containerd.log")
        defer { daemon.stop() }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(20)) }
        let output = try await ExternalProcess.offPool {
            try ExternalProcess.runBlocking(["ctr", "--address", socket, "images", "pull", "--hosts-dir", directory + "/hosts",
                                     "registry.test/team/ctrapp:v1"])
        }
        #expect(output.contains("unpacking linux/amd64"))
        #expect(mirror.stat("registry.local.cache_miss") >= 1 + image.layerDigests.count)
        let images = try await ExternalProcess.run(["ctr", "--address", socket, "images", "ls", "-q"])
        #expect(images.contains("registry.test/team/ctrapp:v1"))
        #expect(hub.count("registry", "/") == 0)
    }
}
