import ProxyCore

/// Per-upstream counters of the registry mirror, under `registry.<cluster>.` on `/stats` and `/stats/prometheus`:
/// what operators look at to see whether the cache works and whether an upstream is throttling them.
struct RegistryStats: Sendable {
    let cacheHits: Counter
    let cacheMisses: Counter
    let bytesFromUpstream: Counter
    let bytesFromCache: Counter
    let upstream429: Counter
    let upstreamErrors: Counter
    let tokenFailures: Counter
    let staleServed: Counter
    /// Tags served from the stale-while-revalidate window, each with a background check of the upstream.
    let tagRevalidations: Counter
    let verificationFailures: Counter

    init(cluster: String, store: StatsStore) {
        let prefix = "registry.\(cluster)."
        self.cacheHits = store.counter(prefix + "cache_hit")
        self.cacheMisses = store.counter(prefix + "cache_miss")
        self.bytesFromUpstream = store.counter(prefix + "bytes_from_upstream")
        self.bytesFromCache = store.counter(prefix + "bytes_from_cache")
        self.upstream429 = store.counter(prefix + "upstream_rq_429")
        self.upstreamErrors = store.counter(prefix + "upstream_errors")
        self.tokenFailures = store.counter(prefix + "token_failures")
        self.staleServed = store.counter(prefix + "stale_served")
        self.tagRevalidations = store.counter(prefix + "tag_revalidations")
        self.verificationFailures = store.counter(prefix + "verification_failed")
    }
}
