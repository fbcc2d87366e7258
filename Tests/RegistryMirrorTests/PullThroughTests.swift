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
        let image = try TestImage.make()
        try image.push(to: "127.0.0.1:\(registry.port)/team/app")

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
        let image = try TestImage.make(layers: 1, layerSize: 100_000, multiArch: true)
        try image.push(to: "127.0.0.1:\(registry.port)/team/multi")
        let mirror = try await MirrorHarness.start(
            upstreams: [.init(cluster: "local", registryName: "registry.test", port: registry.port)])
        defer { Task { await mirror.stop() } }
        let pulled = try await SkopeoPull.pull("127.0.0.1:\(mirror.port)/registry.test/team/multi:v1", all: true)
        #expect(pulled.isSuperset(of: image.layerDigests))
        #expect(image.layerDigests.count == 2)
    }
}
