import Foundation

/// A registry token as a token realm returns it (the Docker token spec): `token` or `access_token`,
/// `expires_in` seconds (60 when absent), `issued_at`.
public struct RegistryToken: Sendable, Equatable {
    public var value: String
    public var expires: Date

    /// Tokens are renewed a little before they expire, so a request never goes out with one about to lapse.
    public static let renewalMargin: TimeInterval = 10

    public init(value: String, expires: Date) {
        self.value = value
        self.expires = expires
    }

    public init(json data: Data, now: Date = Date()) throws {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TokenError.malformed("token response is not a JSON object")
        }
        guard let token = (object["token"] as? String) ?? (object["access_token"] as? String), !token.isEmpty else {
            throw TokenError.malformed("token response has no token")
        }
        let lifetime = (object["expires_in"] as? NSNumber)?.doubleValue ?? 60
        var issued = now
        if let text = object["issued_at"] as? String,
           let date = (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601)) {
            issued = min(date, now)
        }
        self.init(value: token, expires: issued.addingTimeInterval(max(lifetime, 0)))
    }

    public func isUsable(at now: Date = Date()) -> Bool { now.addingTimeInterval(Self.renewalMargin) < self.expires }

    public enum TokenError: Error, Sendable, Equatable {
        case malformed(String)
    }
}

/// Tokens per upstream and scope, until they expire; a 401 on a cached token drops it (re-challenged once).
public actor TokenCache {
    public struct Key: Hashable, Sendable {
        public var upstream: String
        public var scope: String

        public init(upstream: String, scope: String) {
            self.upstream = upstream
            self.scope = scope
        }
    }

    private var tokens: [Key: RegistryToken] = [:]

    public init() {}

    public func token(for key: Key, now: Date = Date()) -> RegistryToken? {
        guard let token = self.tokens[key] else { return nil }
        guard token.isUsable(at: now) else {
            self.tokens[key] = nil
            return nil
        }
        return token
    }

    public func store(_ token: RegistryToken, for key: Key) { self.tokens[key] = token }
    public func invalidate(_ key: Key) { self.tokens[key] = nil }
    public var count: Int { self.tokens.count }
}
