import Foundation
import Logging
import NIOCore
import ProxyConfig
import ProxyCore
import Synchronization

/// Builds the registry mirror for every connection manager that configures it, on each configuration apply.
///
/// What must outlive a reload lives here: the cache (one per cache directory), each upstream's tokens and tag
/// digests (kept while its cluster is unchanged), the per-client counters and the upstream connections.
public final class RegistryMirrorFactory: LocalResponderFactory {
    private let client: RegistryHTTPClient
    private let logger: Logger
    private let caches = Mutex<[String: MirrorCache]>([:])
    private let upstreams = Mutex<[String: UpstreamRegistry]>([:])
    private let limiters = Mutex<[String: ClientLimiter]>([:])

    /// `upstreamIdleTimeout`: how long an upstream may stay silent before the transfer is cut.
    public init(group: any EventLoopGroup, logger: Logger, resolver: any DNSResolver = SystemDNSResolver(),
                upstreamIdleTimeout: TimeAmount = .seconds(60)) throws {
        self.client = try RegistryHTTPClient(group: group, resolver: resolver, idleTimeout: upstreamIdleTimeout)
        self.logger = logger
    }

    public func responder(for manager: HTTPConnectionManager, clusters: [String: Cluster], stats: StatsStore) throws
    -> (any LocalResponder)? {
        let config = manager.httpFilters.lazy.compactMap { filter -> RegistryMirrorFilter? in
            if case .registryMirror(let config) = filter.kind { return config } else { return nil }
        }.first
        guard let config else { return nil }
        let cache = try self.cache(at: config.cachePath, maxSize: config.maxCacheSize)
        let policy = AddressPolicy(allowPrivate: config.allowPrivateUpstreams)
        var upstreams = RegistryUpstreams()
        for cluster in RegistryUpstreamCatalog.upstreams(clusters, manager: manager) {
            guard let upstream = try self.upstream(for: cluster, policy: policy, stats: stats) else { continue }
            upstreams.byCluster[cluster.name] = upstream
            for name in [upstream.name] + (cluster.mirrordOptions?.registry?.aliases ?? []) {
                let key = RegistryRequest.canonical(name)
                if upstreams.byName[key] == nil { upstreams.byName[key] = upstream }
            }
        }
        let limiter = self.limiters.withLock { limiters in
            let key = "\(config.cachePath)#\(config.maxRequestsPerClient)"
            if let existing = limiters[key] { return existing }
            let created = ClientLimiter(limit: config.maxRequestsPerClient)
            limiters[key] = created
            return created
        }
        var authenticator: ClientAuthenticator?
        if case .filename(let path)? = config.htpasswd { authenticator = try ClientAuthenticator(htpasswd: path) }
        return RegistryResponder(upstreams: upstreams, cache: cache, limiter: limiter, clientAuth: authenticator,
                                 logger: self.logger)
    }

    /// A graceful stop makes every stored blob durable, so the next start re-hashes nothing.
    public func shutdown() async {
        let caches = self.caches.withLock { Array($0.values) }
        for cache in caches { await cache.blobs.syncer.syncPending() }
        self.client.closeIdle()
    }

    /// The cache at `path`, opened once per directory for the factory's life: a reload that changes `max_size`
    /// adjusts the open store rather than opening a second one on the same files.
    func cache(at path: String, maxSize: Int64?) throws -> MirrorCache {
        try self.caches.withLock { caches in
            if let existing = caches[path] {
                if existing.blobs.maxSize != maxSize { existing.blobs.setMaxSize(maxSize) }
                return existing
            }
            let created = try MirrorCache(root: URL(fileURLWithPath: path), maxSize: maxSize)
            if created.blobs.removedAtOpen > 0 {
                self.logger.warning("cache \(path): removed \(created.blobs.removedAtOpen) blob(s) that did not match their digest after an unclean stop")
            }
            caches[path] = created
            return created
        }
    }

    private func upstream(for cluster: Cluster, policy: AddressPolicy, stats: StatsStore) throws -> UpstreamRegistry? {
        if let existing = self.upstreams.withLock({ $0[cluster.name] }), existing.fingerprint == cluster,
           existing.policy == policy {
            return existing
        }
        guard let baseURL = RegistryUpstreams.baseURL(of: cluster), let origin = OriginKey(url: baseURL) else {
            self.logger.warning("cluster \(cluster.name) has no endpoint; it cannot serve as an upstream registry")
            return nil
        }
        if let tls = cluster.tls {
            let verify = cluster.mirrordOptions?.insecureSkipTLSVerify != true
            self.client.setTLS(try UpstreamTLSContextFactory.makeContext(tls, verify: verify), for: origin)
        }
        let upstream = try UpstreamRegistry(
            name: RegistryUpstreamCatalog.name(of: cluster), cluster: cluster, baseURL: baseURL,
            options: cluster.mirrordOptions?.registry ?? RegistryUpstreamOptions(), policy: policy,
            client: self.client, stats: RegistryStats(cluster: cluster.name, store: stats))
        self.upstreams.withLock { $0[cluster.name] = upstream }
        return upstream
    }
}

/// The mirror's storage under one cache directory: blobs and manifests, content-addressed and verified.
final class MirrorCache: Sendable {
    let blobs: FileBlobStore
    let manifests: ManifestStore
    let tags: TagStore

    init(root: URL, maxSize: Int64?) throws {
        self.blobs = try FileBlobStore(root: root, maxSize: maxSize)
        self.manifests = try ManifestStore(blobs: self.blobs)
        self.tags = TagStore(root: root)
    }
}
