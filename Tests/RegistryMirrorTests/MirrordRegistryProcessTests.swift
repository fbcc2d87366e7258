import Foundation
import Testing
@testable import RegistryMirror
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The `mirrord` executable on a configuration from `mirrorctl init`: killed with SIGKILL in the middle of a blob
/// fill then restarted on the same cache, and reconfigured live by rewriting its files.
@Suite(.serialized, .enabled(if: ExternalProcess.available("curl"), "needs curl (scripts/test.sh installs it)"))
struct MirrordRegistryProcessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `mirrorctl init` into `directory/conf` with the cache in `directory/cache`, every named upstream on the fake
    /// hub's registry port, as users write their configuration (`--force` rewrites it in place).
    static func writeConfig(_ directory: String, port: Int, admin: Int, upstreams: [String], hubPort: Int) async throws {
        try await ExternalProcess.run([Self.binary("mirrorctl"), "init", "--force", "--out", directory + "/conf",
                                       "--listen", "127.0.0.1:\(port)", "--admin", "127.0.0.1:\(admin)",
                                       "--cache-dir", directory + "/cache", "--allow-private-upstreams"]
                                      + upstreams.flatMap { ["--upstream", "\($0)=http://127.0.0.1:\(hubPort)"] })
    }

    static func binary(_ name: String) -> String {
        for configuration in ["debug", "release"] {
            let path = root.appendingPathComponent(".build/\(configuration)/\(name)").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return name
    }

    @Test func killDuringAFillThenRestart() async throws {
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        defer { Task { await hub.stop() } }
        let bytes = DockerHubTests.random(2_000_000)
        let image = hub.addImage("library/crash", tag: "1", layers: [bytes])
        let layer = image.blobs[1]
        hub.setFault(.stall(afterBytes: 1_000_000), for: layer)

        let directory = try ExternalProcess.temporaryDirectory("crash")
        let port = unusedPort(), admin = unusedPort()
        try await Self.writeConfig(directory, port: port, admin: admin, upstreams: ["docker.io"], hubPort: hub.registryPort)
        func launch() async throws -> ChildProcess {
            let child = try ChildProcess([Self.binary("mirrord"), "-c", directory + "/conf/envoy.yaml"], log: directory + "/mirrord.log")
            try await waitForPort(port)
            return child
        }
        let url = "http://127.0.0.1:\(port)/v2/library/crash/blobs/\(layer)"
        var mirrord = try await launch()
        // A client starts the blob; the upstream stalls half way; the mirror is killed with the fill in progress.
        let client = Task { try? await Curl.get(url) }
        let temporary = directory + "/cache/tmp"
        for _ in 0..<200 {
            let partial = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
            if let name = partial.first, let size = try? FileManager.default.attributesOfItem(atPath: temporary + "/" + name)[.size] as? Int,
               size >= 900_000 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).count == 1)
        kill(mirrord.process.processIdentifier, SIGKILL)
        mirrord.process.waitUntilExit()
        _ = await client.value

        hub.setFault(nil, for: layer)
        mirrord = try await launch()
        defer { mirrord.stop() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "the partial fill was not swept")
        let stored = directory + "/cache/blobs/sha256/" + layer.dropFirst(7).prefix(2) + "/" + layer.dropFirst(7)
        #expect(!FileManager.default.fileExists(atPath: stored))
        let response = try await Curl.get(url)
        #expect(response.status == 200)
        #expect(response.body == bytes)
        #expect(FileManager.default.fileExists(atPath: stored))
        #expect(hub.count("cdn", layer) == 2)
    }

    /// A new upstream added by rewriting the files is served within moments, without a restart, and what the
    /// cache holds is still served from it.
    @Test func addingAnUpstreamIsLiveWithoutARestart() async throws {
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        defer { Task { await hub.stop() } }
        let image = hub.addImage("team/app", tag: "1", layers: [DockerHubTests.random(50_000)])
        let directory = try ExternalProcess.temporaryDirectory("reload")
        let port = unusedPort(), admin = unusedPort()
        func writeConfig(_ upstreams: [String]) async throws {
            try await Self.writeConfig(directory, port: port, admin: admin, upstreams: upstreams, hubPort: hub.registryPort)
        }
        try await writeConfig(["docker.io"])
        let mirrord = try ChildProcess([Self.binary("mirrord"), "-c", directory + "/conf/envoy.yaml"], log: directory + "/mirrord.log")
        defer { mirrord.stop() }
        try await waitForPort(port)
        let root = "http://127.0.0.1:\(port)/v2"
        let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json"
        let layer = try await Curl.get(root + "/docker.io/team/app/blobs/\(image.blobs[1])")
        #expect(layer.status == 200)
        let unknown = try await Curl.get(root + "/quay.io/team/app/manifests/1", headers: [accept])
        #expect(unknown.status == 404)
        #expect(String(decoding: unknown.body, as: UTF8.self).contains("NAME_UNKNOWN"))

        try await writeConfig(["docker.io", "quay.io"])
        var status = 0
        for _ in 0..<100 where status != 200 {
            try await Task.sleep(for: .milliseconds(50))
            status = try await Curl.get(root + "/quay.io/team/app/manifests/1", headers: [accept]).status
        }
        #expect(status == 200)
        hub.setFault(.status(503), for: image.blobs[1])
        let cached = try await Curl.get(root + "/docker.io/team/app/blobs/\(image.blobs[1])")
        #expect(cached.status == 200)
        #expect(cached.body == layer.body)
    }

    /// After a restart with the upstream failing, a tag pulled before still resolves (the tag's digest is kept
    /// on disk with the cache) and its manifest and blobs are served from the cache.
    @Test func tagsSurviveARestartWhileTheUpstreamIsDown() async throws {
        let hub = try await FakeDockerHub(group: MirrorHarness.group)
        defer { Task { await hub.stop() } }
        let image = hub.addImage("library/keep", tag: "stable", layers: [DockerHubTests.random(20_000)])
        let directory = try ExternalProcess.temporaryDirectory("restart")
        let port = unusedPort(), admin = unusedPort()
        try await Self.writeConfig(directory, port: port, admin: admin, upstreams: ["docker.io"], hubPort: hub.registryPort)
        let arguments = [Self.binary("mirrord"), "-c", directory + "/conf/envoy.yaml"]
        let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json"
        let url = "http://127.0.0.1:\(port)/v2/library/keep/manifests/stable"
        var mirrord = try ChildProcess(arguments, log: directory + "/mirrord.log")
        try await waitForPort(port)
        #expect(try await Curl.get(url, headers: [accept]).status == 200)
        for blob in image.blobs {
            #expect(try await Curl.get("http://127.0.0.1:\(port)/v2/library/keep/blobs/\(blob)").status == 200)
        }
        mirrord.stop()
        // A graceful stop left every stored blob durable: the sync stamp is not older than any of them.
        let stamp = try #require(BlobSyncer.stamp(root: URL(fileURLWithPath: directory + "/cache")))
        let stored = FileManager.default.enumerator(atPath: directory + "/cache/blobs")?.allObjects as? [String] ?? []
        let files = stored.filter { $0.split(separator: "/").last?.count == 64 }
        #expect(files.count == image.blobs.count + 1, "blobs and the manifest: \(stored)")
        for file in files {
            let modified = try FileManager.default.attributesOfItem(atPath: directory + "/cache/blobs/" + file)[.modificationDate] as? Date
            #expect((modified?.timeIntervalSince1970 ?? .infinity) <= stamp + 0.01, "\(file) is newer than the stamp")
        }
        hub.setFault(.status(503), for: "manifest")
        for blob in image.blobs { hub.setFault(.status(503), for: blob) }
        mirrord = try ChildProcess(arguments, log: directory + "/mirrord-2.log")
        defer { mirrord.stop() }
        try await waitForPort(port)
        let again = try await Curl.get(url, headers: [accept])
        #expect(again.status == 200)
        #expect(again.headers["docker-content-digest"] == image.manifest)
        for blob in image.blobs {
            #expect(try await Curl.get("http://127.0.0.1:\(port)/v2/library/keep/blobs/\(blob)").status == 200)
        }
    }
}
