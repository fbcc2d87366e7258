import ArgumentParser
import Foundation
import ProxyConfig
import Testing
@testable import MirrorCLI
@testable import MirrorDaemon

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let seed = ["envoy.yaml", "lds.yaml", "cds.yaml"].map { repositoryRoot.appendingPathComponent("examples/seed/\($0)").path }
let quickstart = repositoryRoot.appendingPathComponent("examples/quickstart/envoy.yaml").path
let badFixtures = repositoryRoot.appendingPathComponent("Tests/ProxyConfigTests/Fixtures/bad")

/// `mirrorctl` run in process: exit statuses, human and JSON output.
@Suite struct MirrorCtlTests {
    @Test func validateSeedIsValidWithWarnings() async {
        let result = await MirrorCtl.capture(["validate"] + seed)
        #expect(result.status == 0)
        #expect(result.output.contains(": OK (1 listener, 3 clusters; 0 errors, 11 warnings)"))
        #expect(result.output.contains("lds.yaml:56:11: warning: "))
    }

    @Test func validateWithEnvoyCompatFailsOnWhatEnvoyRejects() async {
        let result = await MirrorCtl.capture(["validate", "--envoy-compat"] + seed)
        #expect(result.status == 1)
        #expect(result.output.contains("lds.yaml:56:11: error [envoy]: "))
        #expect(result.output.contains("Didn't find a registered implementation for 'envoy.filters.http.router' with type URL: ''"))
    }

    @Test func validateInvalidFileExitsOneAndPrintsTheSourceLineWithACaret() async {
        let file = badFixtures.appendingPathComponent("unknown-field-cluster.yaml").path
        let result = await MirrorCtl.capture(["validate", file])
        #expect(result.status == 1)
        #expect(result.output.contains("unknown-field-cluster.yaml:5:3: error: resources[0].conect_timeout: unknown field 'conect_timeout' (did you mean 'connect_timeout'?)"))
        #expect(result.output.contains("\n      conect_timeout: 1s\n      ^\n"))
    }

    @Test func validateUsageErrorsExitTwo() async {
        #expect(await MirrorCtl.capture(["validate"]).status == 2)
        #expect(await MirrorCtl.capture(["validate", "--output", "yaml", quickstart]).status == 2)
        #expect(await MirrorCtl.capture(["frobnicate"]).status == 2)
    }

    @Test func validateJSONIsMachineReadable() async throws {
        let file = badFixtures.appendingPathComponent("bad-port-range.yaml").path
        let result = await MirrorCtl.capture(["validate", "--output", "json", file])
        #expect(result.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(object["valid"] as? Bool == false)
        #expect(object["errors"] as? Int == 1)
        let first = try #require((object["diagnostics"] as? [[String: Any]])?.first { $0["severity"] as? String == "error" })
        let location = try #require(first["location"] as? [String: Any])
        #expect(location["line"] as? Int == 11)
        #expect(location["column"] as? Int == 62)
        #expect(first["path"] as? String == "resources[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value")
    }

    @Test func diffExitStatuses() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mirrorctl-diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try String(contentsOfFile: seed[2], encoding: .utf8)
        let old = directory.appendingPathComponent("old.yaml"), new = directory.appendingPathComponent("new.yaml")
        try original.write(to: old, atomically: true, encoding: .utf8)
        try original.replacingOccurrences(of: "connect_timeout: 1s", with: "connect_timeout: 1.0s")
            .write(to: new, atomically: true, encoding: .utf8)
        let same = await MirrorCtl.capture(["diff", old.path, new.path])
        #expect(same.status == 0)
        #expect(same.output == "no differences\n")
        try original.replacingOccurrences(of: "connect_timeout: 1s", with: "connect_timeout: 3s")
            .write(to: new, atomically: true, encoding: .utf8)
        let different = await MirrorCtl.capture(["diff", old.path, new.path])
        #expect(different.status == 1)
        #expect(different.output == "~ cluster gcr\n    ~ connect_timeout: 1s -> 3s\n")
        let json = await MirrorCtl.capture(["diff", "--output", "json", old.path, new.path])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(object["same"] as? Bool == false)
        let broken = await MirrorCtl.capture(["diff", old.path, badFixtures.appendingPathComponent("empty.yaml").path])
        #expect(broken.status == 2)
    }

    @Test func routesDumpListsEveryRouteInOrder() async {
        let result = await MirrorCtl.capture(["routes", "dump"] + seed)
        #expect(result.status == 0)
        #expect(result.output == """
            listener listener_http 0.0.0.0:18080 route_config https_route
              virtual_host gcr domains gcr.xxx.com
                [0] prefix / -> cluster gcr timeout 600s
              virtual_host quay domains quay.xxx.com
                [0] prefix / -> cluster quay host_rewrite quay.io timeout 15s
              virtual_host docker domains docker.xxx.com
                [0] prefix / -> cluster dockerhub host_rewrite registry-1.docker.io timeout 15s

            """)
    }

    @Test func routesMatchExplainsTheDecision() async throws {
        let result = await MirrorCtl.capture(["routes", "match"] + seed + ["--host", "quay.xxx.com", "--path", "/v2/x/manifests/1"])
        #expect(result.status == 0)
        #expect(result.output.contains("virtual host:  quay (exact quay.xxx.com)"))
        #expect(result.output.contains("upstream host: quay.io"))
        let json = await MirrorCtl.capture(["routes", "match", quickstart, "--host", "mirror.example.com:5000",
                                            "--path", "/v2/library/alpine/manifests/3", "--output", "json"])
        let results = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(results.first?["cluster"] as? String == "docker_io")
        #expect(results.first?["domain_rule"] as? String == "default *")
    }

    @Test func routesMatchWithoutARouteExitsOne() async {
        let result = await MirrorCtl.capture(["routes", "match"] + seed + ["--host", "docker.xxx.com:18080", "--path", "/v2/"])
        #expect(result.status == 1)
        #expect(result.output.contains("no virtual host matches: 404 (NR)"))
        #expect(await MirrorCtl.capture(["routes", "match"] + seed + ["--host", "x", "--path", "v2"]).status == 2)
        #expect(await MirrorCtl.capture(["routes", "match"] + seed + ["--host", "x", "--path", "/", "--listener", "nope"]).status == 2)
    }
}

/// `mirrord`'s embedded default is the quickstart, byte for byte, and it validates.
@Suite struct MirrordTests {
    @Test func embeddedConfigurationIsTheQuickstartAndWhatInitWrites() async throws {
        let directory = NSTemporaryDirectory() + "mirrord-init-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(await MirrorCtl.capture(["init", "--out", directory]).status == 0)
        for name in ["envoy", "lds", "cds"] {
            let embedded = try #require(EmbeddedConfiguration.files["<embedded>/\(name).yaml"])
            let file = repositoryRoot.appendingPathComponent("examples/quickstart/\(name).yaml")
            #expect(try String(contentsOf: file, encoding: .utf8) == embedded, "\(name).yaml differs from the embedded copy")
            #expect(try String(contentsOfFile: "\(directory)/\(name).yaml", encoding: .utf8) == embedded,
                    "init's \(name).yaml differs from the embedded copy")
        }
    }

    @Test func embeddedConfigurationLoadsWithoutAnyDiagnostic() throws {
        let command = try MirrordCommand.parse([])
        let (set, label) = command.load()
        #expect(label == "<embedded>/envoy.yaml")
        #expect(set.diagnostics.filter { $0.origin == .mirrord }.isEmpty, "\(set.diagnostics)")
        #expect(set.listeners.map(\.name) == ["mirror"])
        #expect(set.clusters.map(\.name) == ["docker_io", "quay_io", "gcr_io", "ghcr_io", "registry_k8s_io"])
    }

    @Test func flagsFollowEnvoy() throws {
        let command = try MirrordCommand.parse(["-c", "envoy.yaml", "--mode", "validate", "--drain-time-s", "30", "-l", "debug",
                                                "--concurrency", "3"])
        #expect(command.configPath == "envoy.yaml")
        #expect(command.mode == .validate)
        #expect(command.drainTimeSeconds == 30)
        #expect(command.concurrency == 3)
        #expect(try MirrordCommand.parse([]).concurrency == nil)
        #expect(throws: (any Error).self) { try MirrordCommand.parse(["--concurrency", "0"]) }
        #expect(throws: (any Error).self) { try MirrordCommand.parse(["--mode", "init_only"]) }
        #expect(throws: (any Error).self) { try MirrordCommand.parse(["--log-level", "loud"]) }
    }
}

/// `mirrorctl init`: every flag reaches the files, the result validates, and bad flags are refused with the reason.
@Suite struct InitCommandTests {
    @Test func flagsShapeAValidConfiguration() async throws {
        let directory = NSTemporaryDirectory() + "mirrord-init-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = await MirrorCtl.capture([
            "init", "--out", directory, "--listen", "127.0.0.1:15000", "--admin", "127.0.0.1:19901",
            "--cache-dir", "/srv/mirror", "--cache-max-size", "50Gi", "--upstream", "registry.test=http://127.0.0.1:5001",
            "--upstream", "gcr.io=https://gcr.io", "--domain", "gcr.io=gcr.mirror.example.com", "--allow-private-upstreams",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("mirrord -c \(directory)/envoy.yaml"))
        #expect(result.output.contains("registry-mirrors") && result.output.contains("hosts.toml")
                && result.output.contains("[[registry.mirror]]"))
        #expect(await MirrorCtl.capture(["validate", "\(directory)/envoy.yaml"]).status == 0)
        let lds = try String(contentsOfFile: "\(directory)/lds.yaml", encoding: .utf8)
        #expect(lds.contains("port_value: 15000") && lds.contains("path: /srv/mirror, max_size: 50Gi"))
        #expect(lds.contains("\"gcr.mirror.example.com\"") && lds.contains("allow_private_upstreams: true"))
        #expect(lds.contains("cluster: registry_test, timeout: 0s"))   // the first upstream is the default without docker.io
        let cds = try String(contentsOfFile: "\(directory)/cds.yaml", encoding: .utf8)
        #expect(cds.contains("type: STATIC") && cds.contains("address: 127.0.0.1, port_value: 5001"))
        #expect(cds.contains("sni: gcr.io") && cds.contains("name: registry.test"))
        // routes dump names each upstream registry with its tag windows.
        try cds.replacingOccurrences(of: "        tag_ttl: 300s\n", with: "        tag_ttl: 60s\n        tag_stale_while_revalidate: 3600s\n")
            .write(toFile: "\(directory)/cds.yaml", atomically: true, encoding: .utf8)
        let dump = await MirrorCtl.capture(["routes", "dump", "\(directory)/envoy.yaml"])
        #expect(dump.output.contains("upstream gcr.io -> cluster gcr_io tag_ttl 60s stale_while_revalidate 3600s"), "\(dump.output)")
        // Files are not overwritten without --force.
        #expect(await MirrorCtl.capture(["init", "--out", directory]).status == 2)
        #expect(await MirrorCtl.capture(["init", "--out", directory, "--force"]).status == 0)
    }

    @Test(arguments: [
        (["--upstream", "gcr.io"], "NAME=URL"),
        (["--upstream", "gcr.io=ftp://gcr.io"], "http(s)://host"),
        (["--upstream", "gcr.io=https://gcr.io/v2"], "no path"),
        (["--upstream", "not a name=https://x.io"], "registry host name"),
        (["--domain", "quay.io=quay.example.com", "--upstream", "gcr.io=https://gcr.io"], "no upstream is named quay.io"),
        (["--listen", "5000"], "HOST:PORT"),
        (["--cache-dir", "relative/dir"], "absolute"),
        (["--cache-max-size", "lots"], "not a size"),
    ])
    func badFlagsAreRefused(flags: [String], reason: String) async {
        let directory = NSTemporaryDirectory() + "mirrord-init-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = await MirrorCtl.capture(["init", "--out", directory] + flags)
        #expect(result.status == 2)
        #expect(result.error.contains(reason), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/envoy.yaml"))
    }
}

/// Files the registry mirror reads (upstream credentials, the clients' htpasswd) are checked by `validate`, so it
/// refuses what mirrord would refuse, with the position of the field and never the file's content.
@Suite struct RegistryFileChecksTests {
    @Test func credentialsAndHtpasswdFilesAreChecked() async throws {
        let directory = NSTemporaryDirectory() + "mirrord-files-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(await MirrorCtl.capture(["init", "--out", directory, "--upstream", "gcr.io=https://gcr.io"]).status == 0)
        let cds = directory + "/cds.yaml", lds = directory + "/lds.yaml"
        let original = try String(contentsOfFile: cds, encoding: .utf8)
        func withCredentials(_ path: String) throws {
            try original.replacingOccurrences(of: "        tag_ttl: 300s\n",
                                              with: "        tag_ttl: 300s\n        credentials: {filename: \(path)}\n")
                .write(toFile: cds, atomically: true, encoding: .utf8)
        }
        try withCredentials(directory + "/missing.json")
        var result = await MirrorCtl.capture(["validate", directory + "/envoy.yaml"])
        #expect(result.status == 1)
        #expect(result.output.contains("cds.yaml:") && result.output.contains("cannot read the credentials file"), "\(result.output)")
        try Data("{\"username\": \"robot\", \"password\": 7}".utf8).write(to: URL(fileURLWithPath: directory + "/bad.json"))
        try withCredentials(directory + "/bad.json")
        result = await MirrorCtl.capture(["validate", directory + "/envoy.yaml"])
        #expect(result.status == 1)
        #expect(result.output.contains("must be a JSON object") && !result.output.contains("robot"))
        try Data("{\"username\": \"robot\", \"password\": \"s3cret\"}".utf8).write(to: URL(fileURLWithPath: directory + "/good.json"))
        try withCredentials(directory + "/good.json")
        #expect(await MirrorCtl.capture(["validate", directory + "/envoy.yaml"]).status == 0)

        let listeners = try String(contentsOfFile: lds, encoding: .utf8)
        try listeners.replacingOccurrences(of: "allow_private_upstreams: false",
                                           with: "allow_private_upstreams: false\n            client_auth: {htpasswd: {filename: \(directory)/nope}}")
            .write(toFile: lds, atomically: true, encoding: .utf8)
        result = await MirrorCtl.capture(["validate", directory + "/envoy.yaml"])
        #expect(result.status == 1)
        #expect(result.output.contains("cannot read the htpasswd file"), "\(result.output)")
    }
}
