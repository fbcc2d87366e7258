import Foundation
import TestSupport

/// Debian's `docker-registry` (distribution 2.8) on 127.0.0.1: the real upstream registry of the tests,
/// anonymous or with token auth whose realm is on another host (gcr.io's shape).
final class DistributionRegistry: @unchecked Sendable {
    let port: Int
    let directory: String
    private var child: ChildProcess?

    struct TokenAuth {
        var realm: String
        var service: String
        var issuer: String
        var certificateBundle: String
    }

    init(tokenAuth: TokenAuth? = nil) async throws {
        self.port = unusedPort()
        self.directory = try ExternalProcess.temporaryDirectory("registry")
        var config = """
            version: 0.1
            log: {level: error, accesslog: {disabled: true}}
            storage:
              filesystem: {rootdirectory: \(self.directory)/data}
              delete: {enabled: true}
            http: {addr: "127.0.0.1:\(self.port)"}

            """
        if let auth = tokenAuth {
            config += """
                auth:
                  token: {realm: "\(auth.realm)", service: "\(auth.service)", issuer: "\(auth.issuer)", rootcertbundle: "\(auth.certificateBundle)"}

                """
        }
        try config.write(toFile: self.directory + "/config.yml", atomically: true, encoding: .utf8)
        try self.start()
    }

    func start() throws {
        self.child = try ChildProcess(["docker-registry", "serve", self.directory + "/config.yml"],
                                      log: self.directory + "/registry.log")
    }

    func waitUntilReady() async throws { try await waitForPort(self.port) }

    func stop() {
        self.child?.stop()
        self.child = nil
    }

    deinit {
        self.stop()
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
