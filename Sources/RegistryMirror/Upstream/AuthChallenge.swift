/// A `WWW-Authenticate` challenge from an upstream registry (RFC 9110 §11.6.1; the registry token spec).
///
/// mirrord answers these itself: clients never see an upstream's challenge.
public struct AuthChallenge: Sendable, Equatable {
    public enum Scheme: String, Sendable { case bearer = "Bearer", basic = "Basic" }

    public var scheme: Scheme
    /// Lower-cased parameter names: `realm`, `service`, `scope`, `error`.
    public var parameters: [String: String]

    public var realm: String? { self.parameters["realm"] }
    public var service: String? { self.parameters["service"] }
    public var scope: String? { self.parameters["scope"] }

    /// Every Bearer or Basic challenge in a header value; others (Negotiate, ...) are skipped.
    public static func parse(_ header: String) -> [AuthChallenge] {
        var challenges: [AuthChallenge] = []
        var scanner = Scanner(Array(header.utf8))
        while !scanner.atEnd {
            scanner.skip { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ",") }
            let scheme = scanner.token()
            guard !scheme.isEmpty else { break }
            var parameters: [String: String] = [:]
            while true {
                scanner.skip { $0 == UInt8(ascii: " ") }
                let mark = scanner.position
                let name = scanner.token()
                scanner.skip { $0 == UInt8(ascii: " ") }
                guard !name.isEmpty, scanner.consume(UInt8(ascii: "=")) else {
                    scanner.position = mark   // the next scheme starts here
                    break
                }
                scanner.skip { $0 == UInt8(ascii: " ") }
                parameters[name.lowercased()] = scanner.peek == UInt8(ascii: "\"") ? scanner.quoted() : scanner.token()
                scanner.skip { $0 == UInt8(ascii: " ") }
                if !scanner.consume(UInt8(ascii: ",")) { break }
            }
            if let known = Scheme.allCases.first(where: { $0.rawValue.lowercased() == scheme.lowercased() }) {
                challenges.append(AuthChallenge(scheme: known, parameters: parameters))
            }
        }
        return challenges
    }

    struct Scanner {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { self.position >= self.bytes.count }
        var peek: UInt8? { self.atEnd ? nil : self.bytes[self.position] }

        mutating func skip(while predicate: (UInt8) -> Bool) {
            while let byte = self.peek, predicate(byte) { self.position += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard self.peek == byte else { return false }
            self.position += 1
            return true
        }

        /// An RFC 9110 token (and `token68` characters, for Basic's base64 parameter).
        mutating func token() -> String {
            let start = self.position
            self.skip { byte in
                byte > 0x20 && byte < 0x7F && !"\"(),/:;<=>?@[\\]{}".utf8.contains(byte) || byte == UInt8(ascii: "/")
                    || byte == UInt8(ascii: ":")
            }
            return String(decoding: self.bytes[start..<self.position], as: UTF8.self)
        }

        mutating func quoted() -> String {
            _ = self.consume(UInt8(ascii: "\""))
            var value: [UInt8] = []
            while let byte = self.peek {
                self.position += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\"), let escaped = self.peek {
                    self.position += 1
                    value.append(escaped)
                } else {
                    value.append(byte)
                }
            }
            return String(decoding: value, as: UTF8.self)
        }
    }
}

extension AuthChallenge.Scheme: CaseIterable {}
