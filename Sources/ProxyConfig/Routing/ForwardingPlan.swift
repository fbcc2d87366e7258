/// What the data plane reads on every request a route forwards, worked out once when the table is compiled.
///
/// A request holds it by reference. Reading a `Route` out of a decision copies the whole route (every string and
/// array in it retained and released again), and those copies cost about a tenth of a proxied request's CPU.
public final class ForwardingPlan: Sendable {
    public let timeout: EnvoyDuration
    public let idleTimeout: EnvoyDuration?
    /// The route's retry policy, else its virtual host's (Envoy does not merge them).
    public let retryPolicy: RetryPolicy?
    public let clusterNotFoundStatus: Int
    public let target: RouteAction.Target
    /// The route's `registry_mirror` per-route setting turns the mirror off for it.
    public let registryMirrorDisabled: Bool
    /// Header mutations of the levels that mutate anything, most specific first: route, virtual host, route
    /// configuration.
    public let requestLevels: [HeaderMutations]
    public let responseLevels: [HeaderMutations]
    /// The same with a weighted cluster's own mutations first, by cluster name.
    private let weightedLevels: [String: Levels]

    public struct Levels: Sendable {
        public let request: [HeaderMutations]
        public let response: [HeaderMutations]
    }

    init(_ action: RouteAction, route: Route, host: VirtualHost, configuration: RouteConfiguration) {
        self.timeout = action.timeout
        self.idleTimeout = action.idleTimeout
        self.retryPolicy = action.retryPolicy ?? host.retryPolicy
        self.clusterNotFoundStatus = action.clusterNotFoundResponseCode.status
        self.target = action.target
        self.registryMirrorDisabled = route.registryMirror?.disabled == true
        let request = [route.requestHeaders, host.requestHeaders, configuration.requestHeaders].filter { !$0.isEmpty }
        let response = [route.responseHeaders, host.responseHeaders, configuration.responseHeaders].filter { !$0.isEmpty }
        self.requestLevels = request
        self.responseLevels = response
        var weighted: [String: Levels] = [:]
        if case .weightedClusters(let clusters) = action.target {
            for cluster in clusters where weighted[cluster.name] == nil {
                weighted[cluster.name] = Levels(request: (cluster.requestHeaders.isEmpty ? [] : [cluster.requestHeaders]) + request,
                                                response: (cluster.responseHeaders.isEmpty ? [] : [cluster.responseHeaders]) + response)
            }
        }
        self.weightedLevels = weighted
    }

    /// The mutation levels for a request sent to `cluster`.
    public func levels(forCluster cluster: String) -> Levels {
        guard !self.weightedLevels.isEmpty, let levels = self.weightedLevels[cluster] else {
            return Levels(request: self.requestLevels, response: self.responseLevels)
        }
        return levels
    }
}
