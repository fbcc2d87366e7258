import Foundation
import ProxyConfig
import Testing
@testable import ProxyCore

/// The data plane only ever sees a snapshot built from a configuration without errors.
@Suite struct ConfigSnapshotTests {
    static let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/seed")

    @Test func seedBuildsASnapshotWithOneRouteTablePerChain() throws {
        let set = ConfigLoader.load(paths: ["envoy.yaml", "lds.yaml", "cds.yaml"].map { Self.seed.appendingPathComponent($0).path })
        let snapshot = try ConfigSnapshot(set, version: 7)
        #expect(snapshot.version == 7)
        #expect(snapshot.ldsVersion == "0")
        #expect(snapshot.clusters.keys.sorted() == ["dockerhub", "gcr", "quay"])
        let table = try #require(snapshot.routeTables["listener_http"]?.first)
        #expect(table.match(RouteRequest(host: "gcr.xxx.com", path: "/v2/"))?.cluster() == "gcr")
        #expect(snapshot.summary.first == "listener listener_http on 0.0.0.0:18080: gcr [gcr.xxx.com], quay [quay.xxx.com], docker [docker.xxx.com]")
    }

    @Test func anInvalidConfigurationBuildsNoSnapshot() {
        let set = ConfigLoader.load(paths: ["/nonexistent/mirrord.yaml"])
        #expect(throws: ConfigSnapshot.InvalidConfiguration.self) { try ConfigSnapshot(set, version: 1) }
    }
}
