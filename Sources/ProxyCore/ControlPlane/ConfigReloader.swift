import Foundation
import Logging
import ProxyConfig
import Synchronization

/// Loads the bootstrap's LDS and CDS files as one snapshot and applies it, all or nothing.
///
/// Envoy applies LDS and CDS separately and per resource, so a bad file half-applies; here a reload either
/// takes both files whole or leaves the active snapshot serving, with the errors logged at file:line:column,
/// counted under Envoy's stat names and kept for `/config_dump`'s `error_state`.
public final class ConfigReloader: Sendable {
    public enum Outcome: Sendable, Equatable {
        case unchanged
        case applied(ProxyServer.ApplyReport)
        /// Decoded, but invalid or impossible to apply (a port in use): `update_rejected`.
        case rejected([String])
        /// Unreadable or not YAML: `update_failure`.
        case failed([String])
    }

    /// The last update that did not apply, for `/config_dump`.
    public struct ErrorState: Sendable {
        public var time: Date
        public var details: [String]
    }

    public let bootstrapPath: String
    private let files: any ConfigFileSource
    private let server: ProxyServer
    private let logger: Logger
    private let state = Mutex<State>(State())

    struct State {
        /// Hash of the files last applied, and of the files last tried (applied or not).
        var contentHash: UInt64?
        var attemptedHash: UInt64?
        var version = 0
        var lastUpdated: Date?
        var errorState: ErrorState?
        var ldsVersion: String?
        var cdsVersion: String?
        var bootstrap: Bootstrap?
        /// The LDS/CDS paths and watched directories: fixed by the bootstrap, which is not reloaded.
        var paths: (files: [String], directories: [String])?
    }

    public init(bootstrapPath: String, files: any ConfigFileSource = DiskFileSource(), server: ProxyServer, logger: Logger) {
        self.bootstrapPath = bootstrapPath
        self.files = files
        self.server = server
        self.logger = logger
    }

    /// The paths a watcher should watch: the bootstrap's LDS and CDS files (resolved), and watched directories.
    public func watchedPaths() -> (files: [String], directories: [String]) {
        if let paths = self.state.withLock({ $0.paths }) { return paths }
        let paths = Self.paths(of: ConfigLoader.load(paths: [self.bootstrapPath], from: self.files))
        self.state.withLock { $0.paths = paths }
        return paths
    }

    static func paths(of set: ConfigSet) -> (files: [String], directories: [String]) {
        let directories = [set.bootstrap?.lds?.watchedDirectory, set.bootstrap?.cds?.watchedDirectory].compactMap { $0 }
        return ([set.ldsPath, set.cdsPath].compactMap { $0 }, directories)
    }

    public var errorState: ErrorState? { self.state.withLock { $0.errorState } }
    /// The bootstrap as loaded at start (it is not reloaded: only LDS and CDS are dynamic).
    public var bootstrap: Bootstrap? { self.state.withLock { $0.bootstrap } }
    public var lastUpdated: Date? { self.state.withLock { $0.lastUpdated } }
    public var versions: (lds: String?, cds: String?) { self.state.withLock { ($0.ldsVersion, $0.cdsVersion) } }

    /// The first load at start: any problem is fatal, as Envoy's is.
    public func initialLoad() async throws -> ConfigSnapshot {
        let (set, hash) = self.read()
        guard set.isValid else { throw ConfigSnapshot.InvalidConfiguration(diagnostics: set.diagnostics.blockingErrors) }
        let snapshot = try ConfigSnapshot(set, version: 1)
        try await self.server.start(snapshot)
        self.state.withLock {
            $0.bootstrap = set.bootstrap
            $0.paths = Self.paths(of: set)
        }
        self.record(success: set, hash: hash)
        return snapshot
    }

    /// Re-reads the LDS and CDS files and applies them if their content changed. Content already tried is not
    /// tried again on file events (an editor's extra events), but `force` (SIGHUP) retries it, e.g. after a port
    /// that was in use became free.
    @discardableResult
    public func reload(reason: String, force: Bool = false) async -> Outcome {
        let (set, hash) = self.read()
        let (applied, attempted) = self.state.withLock { ($0.contentHash, $0.attemptedHash) }
        if hash == applied || (!force && hash == attempted) { return .unchanged }
        self.state.withLock { $0.attemptedHash = hash }
        self.count("update_attempt")
        guard set.isValid else {
            let errors = set.diagnostics.blockingErrors
            let syntax = errors.contains { $0.path.isEmpty && Self.isReadFailure($0.message) }
            let details = errors.map(\.description)
            for line in details { self.logger.warning("\(syntax ? "Filesystem config update failure" : "Filesystem config update rejected"): \(line)") }
            self.recordError(details, counter: syntax ? "update_failure" : "update_rejected")
            return syntax ? .failed(details) : .rejected(details)
        }
        let version = self.state.withLock { $0.version } + 1
        do {
            let snapshot = try ConfigSnapshot(set, version: version)
            let report = try await self.server.apply(snapshot)
            self.record(success: set, hash: hash)
            self.logger.notice("configuration reloaded (\(reason)): \(Self.describe(report))")
            return .applied(report)
        } catch {
            let details = ["\(error)"]
            self.logger.warning("Filesystem config update rejected: \(error)")
            self.recordError(details, counter: "update_rejected")
            return .rejected(details)
        }
    }

    /// Reads each LDS/CDS file once and decodes and hashes those same bytes: a file renamed between a decode
    /// and a separate hash read would otherwise be recorded as applied without being applied.
    private func read() -> (ConfigSet, UInt64) {
        let paths = self.watchedPaths().files
        var snapshot: [String: Result<[UInt8], any Error>] = [:]
        var hash = FNV1a()
        for path in paths {
            let bytes = Result { try self.files.read(path) }
            snapshot[path] = bytes
            hash.add(Array(path.utf8))
            hash.add((try? bytes.get()) ?? [0xFF, 0xFE])
        }
        let set = ConfigLoader.load(paths: [self.bootstrapPath], from: PinnedFileSource(pinned: snapshot, underlying: self.files))
        return (set, hash.value)
    }

    private func record(success set: ConfigSet, hash: UInt64) {
        self.state.withLock { state in
            state.contentHash = hash
            state.version += 1
            state.lastUpdated = Date()
            state.errorState = nil
            state.ldsVersion = set.ldsVersion
            state.cdsVersion = set.cdsVersion
        }
        self.count("update_success")
    }

    private func recordError(_ details: [String], counter: String) {
        self.state.withLock { $0.errorState = ErrorState(time: Date(), details: details) }
        self.count(counter)
    }

    private func count(_ name: String) {
        self.server.stats.counter("listener_manager.lds.\(name)").increment()
        self.server.stats.counter("cluster_manager.cds.\(name)").increment()
    }

    static func isReadFailure(_ message: String) -> Bool {
        ["invalid YAML", "file is ", "does not exist", "cannot read", "tab character", "duplicate key", "more than one YAML",
         "nesting is deeper"].contains { message.contains($0) }
    }

    static func describe(_ report: ProxyServer.ApplyReport) -> String {
        let parts = [("listeners added", report.listenersAdded), ("listeners replaced", report.listenersModified),
                     ("routes updated in place", report.listenersRouteOnly), ("listeners removed", report.listenersRemoved),
                     ("clusters added", report.clustersAdded), ("clusters replaced", report.clustersModified),
                     ("clusters removed", report.clustersRemoved)]
            .filter { !$0.1.isEmpty }.map { "\($0.0): \($0.1.joined(separator: ", "))" }
        return parts.isEmpty ? "no resource changed" : parts.joined(separator: "; ")
    }
}

/// FNV-1a, 64 bit: a stable content hash (Swift's `Hasher` is seeded per process).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            self.value ^= UInt64(byte)
            self.value = self.value &* 0x100_0000_01b3
        }
    }
}

/// Serves the bytes already read for some paths, and the underlying source for the rest.
struct PinnedFileSource: ConfigFileSource {
    let pinned: [String: Result<[UInt8], any Error>]
    let underlying: any ConfigFileSource

    func read(_ path: String) throws -> [UInt8] {
        if let bytes = self.pinned[path] { return try bytes.get() }
        return try self.underlying.read(path)
    }
}
