import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ProxyConfig
import Synchronization
import Testing
@testable import ProxyCore

/// Every way a file changes reloads; bad updates keep the old configuration; changes apply make-before-break.
@Suite(.serialized) struct HotReloadTests {
    static let cds = "resources: []\n"

    @Test(arguments: [ReloadHarness.Write.rename, .inPlace, .copy, .deleteAndCreate])
    func everyWayOfWritingTheFileReloads(_ how: ReloadHarness.Write) async throws {
        let harness = try await ReloadHarness(lds: { directListener("one", port: $0) }, cds: Self.cds)
        let port = harness.port()
        #expect(try await waitForBody(port: port, "one") >= 0)
        try harness.write("lds.yaml", directListener("two", port: port), how)
        #expect(try await waitForBody(port: port, "two") >= 0, "\(how) did not reload")
        // The reloader counts a success just after the new chain serves: give the counter that moment.
        for _ in 0..<200 where harness.stat("listener_manager.lds.update_success") < 2 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(harness.stat("listener_manager.lds.update_success") == 2)
        #expect(harness.stat("listener_manager.listener_in_place_updated") == 1)
        await harness.stop()
    }

    @Test func aConfigMapSymlinkSwapReloads() async throws {
        let harness = try await ReloadHarness(lds: { directListener("one", port: $0) }, cds: Self.cds, configMap: true)
        let port = harness.port()
        try harness.swapConfigMap(lds: directListener("two", port: port), cds: Self.cds, generation: 2)
        #expect(try await waitForBody(port: port, "two") >= 0)
        await harness.stop()
    }

    @Test func pollingNoticesChangesWithoutInotify() async throws {
        let harness = try await ReloadHarness(lds: { directListener("one", port: $0) }, cds: Self.cds, forcePolling: true)
        #expect(harness.watcher.mode == .polling)
        let port = harness.port()
        try harness.write("lds.yaml", directListener("two", port: port), .inPlace)
        #expect(try await waitForBody(port: port, "two") >= 0)
        await harness.stop()
    }

    @Test func aBadUpdateIsRejectedWholeAndTheOldConfigurationKeepsServing() async throws {
        let harness = try await ReloadHarness(lds: { directListener("one", port: $0) }, cds: Self.cds)
        let port = harness.port()
        // Valid LDS but it references a cluster CDS does not define: rejected, nothing applied.
        let dangling = catchAllListenerYAML(cluster: "nowhere").replacingOccurrences(of: "port_value: 0", with: "port_value: \(port)")
        #expect(await harness.reloader.reload(reason: "test") == .unchanged)
        try harness.write("lds.yaml", dangling)
        try await waitUntil { harness.stat("listener_manager.lds.update_rejected") == 1 }
        let details = harness.reloader.errorState?.details ?? []
        #expect(details.first?.contains("route references unknown cluster 'nowhere'") == true)
        #expect(details.first?.contains("lds.yaml:") == true)
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await blocking { try RawHTTPClient(port: port).request("/", host: "m").text } == "one")
        #expect(harness.stat("listener_manager.lds.update_rejected") == 1)
        // Not YAML at all: a failure, and still the old configuration.
        try harness.write("lds.yaml", "resources: [\n")
        try await waitUntil { harness.stat("listener_manager.lds.update_failure") == 1 }
        #expect(harness.stat("listener_manager.lds.update_failure") == 1)
        // SIGHUP (a forced reload) tries the same content again and counts again.
        if case .failed = await harness.trigger.reloadNow(reason: "SIGHUP") {} else { Issue.record("expected a failure") }
        #expect(harness.stat("listener_manager.lds.update_failure") == 2)
        #expect(try await blocking { try RawHTTPClient(port: port).request("/", host: "m").text } == "one")
        // Fixed again: applies, and the error state clears.
        try harness.write("lds.yaml", directListener("three", port: port))
        #expect(try await waitForBody(port: port, "three") >= 0)
        // The reloader records the success just after the new chain serves: give it that moment.
        try await waitUntil { harness.reloader.errorState == nil }
        #expect(harness.reloader.errorState == nil)
        await harness.stop()
    }

    @Test func aRouteOnlyChangeKeepsTheConnectionAndTheNextRequestUsesTheNewTable() async throws {
        let harness = try await ReloadHarness(lds: { directListener("before", port: $0) }, cds: Self.cds)
        let port = harness.port()
        let client = try RawHTTPClient(port: port)
        #expect(try await blocking { try client.request("/", host: "m").text } == "before")
        try harness.write("lds.yaml", directListener("after", port: port))
        var body = ""
        for _ in 0..<200 where body != "after" {
            body = try await blocking { try client.request("/", host: "m").text }
            if body != "after" { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(body == "after")
        #expect(harness.stat("http.ingress.downstream_cx_total") == 1)   // the same connection all along
        await harness.stop()
    }

    @Test func clustersAndListenersAreAddedChangedAndRemovedMakeBeforeBreak() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { head in
            // Slow enough that the reload below is seen and the drain begun before the answer, even on a loaded
            // machine running every suite at once (600 ms was not always).
            head.uri == "/slow" ? .delay(.milliseconds(2_000), "slow") : .respond(.ok, [], "origin")
        }
        try await origin.start()
        let harness = try await ReloadHarness(lds: { directListener("one", port: $0) }, cds: Self.cds)
        let port = harness.port()
        // Add a cluster and route to it, in one reload of both files.
        let routed = { (prefix: String) in routedListener(port: port, statPrefix: prefix) }
        try harness.write("cds.yaml", clustersYAML([("origin", origin.port)]))
        try harness.write("lds.yaml", routed("ingress"))
        #expect(try await waitForBody(port: port, "origin") >= 0)
        try await waitUntil { harness.stat("cluster_manager.cluster_added") == 1 }   // counted just after the swap
        #expect(harness.stat("cluster_manager.cluster_added") == 1)
        // A listener-level change (its stat prefix) replaces the listener: an in-flight request finishes on the old one.
        let inFlight = Task {
            try await blocking { try RawHTTPClient(port: port).request("/slow", host: "m") }
        }
        try await Task.sleep(for: .milliseconds(150))
        try harness.write("lds.yaml", routed("renamed"))
        try await waitUntil { harness.stat("listener_manager.listener_modified") == 1 }
        let finished = try await inFlight.value
        #expect(finished.text == "slow")
        #expect(finished.header("connection") == "close")
        #expect(try await blocking { try RawHTTPClient(port: port).request("/", host: "m").text } == "origin")
        try await waitUntil { harness.stat("http.renamed.downstream_rq_total") >= 1 }
        #expect(harness.stat("http.renamed.downstream_rq_total") >= 1)
        // Remove the cluster and the route together: the listener answers 404, the cluster is gone.
        try harness.write("cds.yaml", Self.cds)
        try harness.write("lds.yaml", directListener("none", port: port, statPrefix: "renamed"))
        #expect(try await waitForBody(port: port, "none") >= 0)
        try await waitUntil { harness.stat("cluster_manager.cluster_removed") == 1 }
        #expect(harness.stat("cluster_manager.cluster_removed") == 1)
        // Remove the listener: the port stops accepting.
        try harness.write("lds.yaml", "resources: []\n")
        try await waitUntil { harness.stat("listener_manager.listener_removed") == 1 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(throws: (any Error).self) { _ = try RawHTTPClient(port: port).request("/", host: "m") }
        await harness.stop()
        await origin.stop()
    }

    @Test func aChangedClusterReplacesItsPoolAndAPortInUseRejectsTheUpdate() async throws {
        let origin = TestOrigin(group: ProxyHarness.group) { _ in .respond(.ok, [], "origin") }
        try await origin.start()
        let routed = { (port: Int) in routedListener(port: port) }
        let harness = try await ReloadHarness(lds: routed, cds: clustersYAML([("origin", origin.port)]))
        let port = harness.port()
        #expect(try await blocking { try RawHTTPClient(port: port).request("/", host: "m").text } == "origin")
        try harness.write("cds.yaml", clustersYAML([("origin", origin.port)]).replacingOccurrences(of: "connect_timeout: 1s",
                                                                                                   with: "connect_timeout: 2s"))
        try await waitUntil { harness.stat("cluster_manager.cluster_modified") == 1 }
        #expect(harness.stat("cluster_manager.cluster_modified") == 1)
        #expect(try await blocking { try RawHTTPClient(port: port).request("/", host: "m").text } == "origin")
        #expect(harness.server.activeClusters().first?.config.connectTimeout == .seconds(2))
        // A second listener on a port another socket holds: the bind fails and the whole update is rejected.
        let blocker = try await ServerBootstrap(group: ProxyHarness.group).bind(host: "127.0.0.1", port: 0).get()
        let taken = blocker.localAddress?.port ?? 0
        let second = directListener("second", name: "l1", port: taken, statPrefix: "second").split(separator: "\n").dropFirst()
        try harness.write("lds.yaml", routed(port) + "\n" + second.joined(separator: "\n"))
        try await waitUntil { harness.stat("listener_manager.lds.update_rejected") == 1 }
        #expect(harness.stat("listener_manager.lds.update_rejected") == 1)
        #expect(harness.reloader.errorState?.details.first?.contains("ddress already in use") == true)
        #expect(harness.server.activeListeners().map(\.name) == ["l0"])
        #expect(try await blocking { try RawHTTPClient(port: port).request("/", host: "m").text } == "origin")
        try await blocker.close()
        await harness.stop()
        await origin.stop()
    }
}
