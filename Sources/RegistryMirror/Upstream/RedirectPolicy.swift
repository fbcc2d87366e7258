import Foundation

/// How mirrord follows an upstream's redirects itself (Docker Hub and GHCR send blobs to a CDN with 307/302):
/// 301/302/303/307/308, relative `Location` resolved against the request, at most 5 hops, https only unless
/// the hop starts from http, and `Authorization` dropped when the host changes (a CDN must not see the token).
public struct RedirectPolicy: Sendable {
    public static let codes: Set<Int> = [301, 302, 303, 307, 308]
    public var maximumHops = 5

    public init() {}

    public enum Refusal: Error, Sendable, Equatable {
        case tooManyRedirects
        case missingLocation
        case badLocation(String)
        case schemeDowngrade(String)
    }

    public struct Hop: Sendable, Equatable {
        public var url: URL
        /// False when the next request must not carry the upstream's Authorization header.
        public var keepAuthorization: Bool
    }

    /// The next request after a redirect answer, or why it is refused. `hops` is how many were followed already.
    public func next(from current: URL, status: Int, location: String?, hops: Int) throws(Refusal) -> Hop {
        guard hops < self.maximumHops else { throw .tooManyRedirects }
        guard let location, !location.isEmpty else { throw .missingLocation }
        guard let target = URL(string: location, relativeTo: current)?.absoluteURL,
              let scheme = target.scheme?.lowercased(), scheme == "https" || scheme == "http", target.host != nil else {
            throw .badLocation(location)
        }
        if current.scheme?.lowercased() == "https", scheme == "http" { throw .schemeDowngrade(location) }
        let sameHost = target.host?.lowercased() == current.host?.lowercased() && target.port == current.port
        return Hop(url: target, keepAuthorization: sameHost)
    }
}
