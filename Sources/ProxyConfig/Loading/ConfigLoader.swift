import Foundation

/// Everything one load produced: the resources of every file, and every problem found in them.
public struct ConfigSet: Sendable {
    public var bootstrap: Bootstrap?
    public var bootstrapPath: String?
    /// Resolved LDS and CDS paths, when a bootstrap names them.
    public var ldsPath: String?
    public var cdsPath: String?
    public var ldsVersion: String?
    public var cdsVersion: String?
    /// Static listeners first, then dynamic ones, each in file order.
    public var listeners: [Listener] = []
    public var clusters: [Cluster] = []
    public var diagnostics: [Diagnostic] = []
    public var files: [String] = []

    public init() {}

    public var isValid: Bool { self.diagnostics.blockingErrors.isEmpty }
}

/// Reads configuration files; the daemon reads the disk, tests and the embedded default read memory.
public protocol ConfigFileSource: Sendable {
    func read(_ path: String) throws -> [UInt8]
}

public struct DiskFileSource: ConfigFileSource {
    public init() {}

    public func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw LoadError(message: "'\(path)' is a directory, not a file")
            }
            throw LoadError(message: FileManager.default.fileExists(atPath: path)
                ? "cannot read '\(path)'" : "paths must refer to an existing path in the system: '\(path)' does not exist")
        }
        return [UInt8](data)
    }
}

public struct InMemoryFileSource: ConfigFileSource {
    public var files: [String: String]
    public init(_ files: [String: String]) { self.files = files }

    public func read(_ path: String) throws -> [UInt8] {
        guard let text = self.files[path] else {
            throw LoadError(message: "paths must refer to an existing path in the system: '\(path)' does not exist")
        }
        return Array(text.utf8)
    }
}

public struct LoadError: Error, Sendable { public var message: String }

/// Loads bootstrap, LDS and CDS files into one `ConfigSet` and validates them together.
public enum ConfigLoader {
    /// `paths` may name a bootstrap (its LDS/CDS files are followed) or LDS/CDS files directly.
    ///
    /// Files given next to a bootstrap stand in for the LDS/CDS files it names, so
    /// `validate envoy.yaml lds.yaml cds.yaml` checks the three as one deployment wherever they will live.
    public static func load(paths: [String], from files: any ConfigFileSource = DiskFileSource()) -> ConfigSet {
        var set = ConfigSet()
        var bootstraps: [(String, Bootstrap)] = []
        var explicitListeners = false, explicitClusters = false
        for path in paths {
            guard let file = Self.decodeFile(path, from: files, into: &set, reportingAt: nil) else { continue }
            switch file {
            case .bootstrap(let bootstrap):
                bootstraps.append((path, bootstrap))
            case .discovery(let discovery):
                set.listeners += discovery.listeners
                set.clusters += discovery.clusters
                if discovery.kind == .listeners {
                    set.ldsVersion = discovery.versionInfo
                    set.ldsPath = path
                    explicitListeners = true
                }
                if discovery.kind == .clusters {
                    set.cdsVersion = discovery.versionInfo
                    set.cdsPath = path
                    explicitClusters = true
                }
            }
        }
        for (index, (path, bootstrap)) in bootstraps.enumerated() {
            if index > 0 {
                set.diagnostics.append(Diagnostic(.error, at: bootstrap.source.location, path: "",
                                                  "only one bootstrap file may be given"))
                continue
            }
            set.bootstrap = bootstrap
            set.bootstrapPath = path
            set.listeners = bootstrap.staticListeners + set.listeners
            set.clusters = bootstrap.staticClusters + set.clusters
            let base = (path as NSString).deletingLastPathComponent
            if let lds = bootstrap.lds, !explicitListeners {
                let resolved = Self.resolve(lds.path, relativeTo: base)
                set.ldsPath = resolved
                Self.loadDynamic(resolved, expecting: .listeners, source: lds, from: files, into: &set)
            }
            if let cds = bootstrap.cds, !explicitClusters {
                let resolved = Self.resolve(cds.path, relativeTo: base)
                set.cdsPath = resolved
                Self.loadDynamic(resolved, expecting: .clusters, source: cds, from: files, into: &set)
            }
        }
        set.diagnostics += Validator.validate(set)
        set.diagnostics = set.diagnostics.sortedByLocation()
        return set
    }

    /// Relative LDS/CDS paths are taken relative to the bootstrap's directory (Envoy uses the working directory).
    static func resolve(_ path: String, relativeTo base: String) -> String {
        guard !path.hasPrefix("/"), !base.isEmpty else { return path }
        return (base as NSString).appendingPathComponent(path)
    }

    static func loadDynamic(_ path: String, expecting kind: DiscoveryFile.Kind, source: ConfigSource,
                            from files: any ConfigFileSource, into set: inout ConfigSet) {
        if !source.path.hasPrefix("/") {
            set.diagnostics.append(Diagnostic(
                .warning, at: source.pathLocation, path: "",
                "relative path: Envoy resolves it against its working directory, mirrord against the bootstrap's directory",
                origin: .envoyCompat))
        }
        guard let file = Self.decodeFile(path, from: files, into: &set, reportingAt: source.pathLocation) else { return }
        switch file {
        case .bootstrap(let bootstrap):
            set.diagnostics.append(Diagnostic(.error, at: bootstrap.source.location, path: "",
                                              "expected an \(kind == .listeners ? "LDS" : "CDS") file with `resources:`, found a bootstrap"))
        case .discovery(let discovery):
            if discovery.kind != .empty, discovery.kind != kind {
                set.diagnostics.append(Diagnostic(
                    .error, at: discovery.source.location, path: "resources",
                    "this file is named as \(kind == .listeners ? "lds_config" : "cds_config") but holds \(discovery.kind.rawValue)"))
                return
            }
            set.listeners += discovery.listeners
            set.clusters += discovery.clusters
            if kind == .listeners { set.ldsVersion = discovery.versionInfo } else { set.cdsVersion = discovery.versionInfo }
        }
    }

    static func decodeFile(_ path: String, from files: any ConfigFileSource, into set: inout ConfigSet,
                           reportingAt reference: SourceLocation?) -> ConfigFile? {
        set.files.append(path)
        let lower = path.lowercased()
        if lower.hasSuffix(".pb") || lower.hasSuffix(".pb_text") {
            set.diagnostics.append(Diagnostic(.error, at: SourceLocation(file: path, line: 1, column: 1), path: "",
                                              "protobuf files are not supported; write the configuration as YAML or JSON"))
            return nil
        }
        let bytes: [UInt8]
        do {
            bytes = try files.read(path)
        } catch {
            let message = (error as? LoadError)?.message ?? "cannot read '\(path)': \(error)"
            set.diagnostics.append(Diagnostic(.error, at: reference ?? SourceLocation(file: path, line: 1, column: 1),
                                              path: "", message))
            return nil
        }
        switch YAMLLoader.load(bytes, file: path) {
        case .failed(let diagnostic):
            set.diagnostics.append(diagnostic)
            return nil
        case .document(let node):
            let context = DecodeContext(file: path)
            let file = LargeStack.run { ConfigFile.decode(NodeReader(node: node, path: "", context: context)) }
            set.diagnostics += context.diagnostics
            return file
        }
    }
}
