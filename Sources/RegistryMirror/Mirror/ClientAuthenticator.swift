import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Basic authentication of mirror clients against an htpasswd file (bcrypt `$2y$`/`$2b$`, or any scheme the
/// system's `crypt` knows), for mirrors that carry credentials to private upstreams. Verified pairs are
/// remembered by their SHA-256 so bcrypt's deliberate cost is paid once per client, not once per request.
final class ClientAuthenticator: Sendable {
    private let users: [String: String]
    private let verified = Mutex<Set<String>>([])
    private static let crypt = SystemCrypt()

    init(htpasswd path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw RegistryConfigurationError("cannot read the htpasswd file \(path)")
        }
        var users: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { users[String(parts[0])] = String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        guard !users.isEmpty else { throw RegistryConfigurationError("the htpasswd file \(path) has no users") }
        guard Self.crypt != nil else {
            throw RegistryConfigurationError("client_auth needs the system's crypt (libcrypt.so.1), which is missing")
        }
        self.users = users
    }

    func allows(_ authorization: String?) -> Bool {
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":") else { return false }
        let user = String(pair[..<colon]), password = String(pair[pair.index(after: colon)...])
        guard let hash = self.users[user] else { return false }
        let key = SHA256.hash(data: Data((hash + "\u{0}" + pair).utf8)).map { String(format: "%02x", $0) }.joined()
        if self.verified.withLock({ $0.contains(key) }) { return true }
        guard let crypt = Self.crypt, crypt.matches(password: password, hash: hash) else { return false }
        self.verified.withLock { _ = $0.insert(key) }
        return true
    }
}

/// The C library's `crypt`, found at run time so the build needs no libcrypt headers; calls are serialised
/// because `crypt` returns a static buffer.
final class SystemCrypt: Sendable {
    private typealias Function = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> UnsafeMutablePointer<CChar>?
    private let lock = Mutex<Void>(())
    private let address: UInt

    init?() {
        guard let library = dlopen("libcrypt.so.1", RTLD_NOW) ?? dlopen("libcrypt.so", RTLD_NOW),
              let symbol = dlsym(library, "crypt") else { return nil }
        self.address = UInt(bitPattern: symbol)
    }

    func matches(password: String, hash: String) -> Bool {
        let function = unsafeBitCast(UnsafeRawPointer(bitPattern: self.address)!, to: Function.self)
        return self.lock.withLock { _ in
            guard let result = function(password, hash) else { return false }
            let computed = String(cString: result)
            return !computed.hasPrefix("*") && computed == hash
        }
    }
}
