import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import ProxyCore

/// The admin endpoint's paths, methods and shapes, against a live data plane that has served and reloaded.
@Suite(.serialized) struct AdminTests {
    @Test func adminAnswersWithEnvoysPathsAndShapes() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "ok") }
        try await origin.start()
        let routed = { (port: Int) in routedListener(port: port) }
        let harness = try await ReloadHarness(lds: routed, cds: clustersYAML([("origin", origin.port)]))
        let admin = AdminServer(server: harness.server, reloader: harness.reloader, node: nil,
                                hooks: .init(quit: {}, setLogLevel: { _ in true }))
        let adminPort = try await admin.start(host: "127.0.0.1", port: 0)?.port ?? 0
        let port = harness.port()
        _ = try await blocking { try RawHTTPClient(port: port).request("/v2/", host: "m") }
        func get(_ path: String, method: String = "GET") async throws -> RawHTTPClient.Response {
            try await blocking { try RawHTTPClient(port: adminPort).request(path, method: method, host: "admin") }
        }
        let ready = try await get("/ready")
        #expect(ready.status == 200 && ready.text == "LIVE\n")
        #expect(try await get("/healthcheck/fail").status == 405)
        #expect(try await get("/healthcheck/fail").text == "Method GET not allowed, POST required.\n")
        #expect(try await get("/healthcheck/fail", method: "POST").status == 200)
        let draining = try await get("/ready")
        #expect(draining.status == 503 && draining.text == "DRAINING\n")
        _ = try await get("/healthcheck/ok", method: "POST")
        #expect(try await get("/ready").status == 200)
        let unknown = try await get("/nope")
        #expect(unknown.status == 404 && unknown.text.hasPrefix("invalid path. admin commands are:"))

        let stats = try await get("/stats?filter=^cluster\\.origin\\.upstream_rq_total$").text
        #expect(stats == "cluster.origin.upstream_rq_total: 1\n")
        let json = try JSONSerialization.jsonObject(with: Data(try await get("/stats?format=json&filter=lds.update_success").body))
        #expect(((json as? [String: Any])?["stats"] as? [[String: Any]])?.first?["value"] as? Int == 1)
        let prometheus = try await get("/stats/prometheus").text
        #expect(prometheus.contains("# TYPE envoy_cluster_upstream_rq counter\n"))
        #expect(prometheus.contains("envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"origin\"} 1\n"))
        #expect(prometheus.contains("envoy_http_downstream_rq_xx{envoy_response_code_class=\"2\",envoy_http_conn_manager_prefix=\"ingress\"} 1\n"))
        #expect(try await get("/listeners").text == "l0::127.0.0.1:\(port)\n")
        let clusters = try await get("/clusters").text
        #expect(clusters.contains("origin::default_priority::max_connections::1024\n"))
        #expect(clusters.contains("origin::127.0.0.1:\(origin.port)::rq_active::0\n"))
        #expect(clusters.contains("origin::127.0.0.1:\(origin.port)::rq_total::1\n"))
        #expect(clusters.contains("origin::127.0.0.1:\(origin.port)::rq_success::1\n"))
        #expect(clusters.contains("origin::127.0.0.1:\(origin.port)::cx_total::1\n"))

        // A rejected reload shows in /config_dump's error_state, next to the configuration still active.
        try harness.write("lds.yaml", "resources: [{\"@type\": type.googleapis.com/envoy.config.listener.v3.Listener, name: x, adress: {}}]\n")
        try await waitUntil { harness.stat("listener_manager.lds.update_rejected") == 1 }
        let dump = try JSONSerialization.jsonObject(with: Data(try await get("/config_dump").body)) as? [String: Any]
        let configs = dump?["configs"] as? [[String: Any]] ?? []
        #expect(configs.map { $0["@type"] as? String ?? "" } == [
            "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
            "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
        ])
        let listeners = configs.last
        let active = (listeners?["dynamic_listeners"] as? [[String: Any]])?.first
        #expect(active?["name"] as? String == "l0")
        #expect(((active?["active_state"] as? [String: Any])?["listener"] as? [String: Any])?["@type"] as? String
                == "type.googleapis.com/envoy.config.listener.v3.Listener")
        let error = listeners?["error_state"] as? [String: Any]
        #expect((error?["details"] as? String)?.contains("unknown field 'adress' (did you mean 'address'?)") == true)
        let clusterDump = (configs[1]["dynamic_active_clusters"] as? [[String: Any]])?.first?["cluster"] as? [String: Any]
        #expect(clusterDump?["name"] as? String == "origin")
        await admin.stop()
        await harness.stop()
        await origin.stop()
    }
}
