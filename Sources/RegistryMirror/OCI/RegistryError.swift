/// The distribution-spec error codes, with the HTTP status each goes out with.
public enum RegistryErrorCode: String, Sendable, Equatable {
    case blobUnknown = "BLOB_UNKNOWN"
    case digestInvalid = "DIGEST_INVALID"
    case manifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
    case manifestInvalid = "MANIFEST_INVALID"
    case manifestUnknown = "MANIFEST_UNKNOWN"
    case nameInvalid = "NAME_INVALID"
    case nameUnknown = "NAME_UNKNOWN"
    case sizeInvalid = "SIZE_INVALID"
    case unauthorized = "UNAUTHORIZED"
    case denied = "DENIED"
    case unsupported = "UNSUPPORTED"
    case tooManyRequests = "TOOMANYREQUESTS"
    case rangeInvalid = "RANGE_INVALID"
    /// The upstream failed (down, 5xx, refused address) and the cache cannot answer instead.
    case unavailable = "UNAVAILABLE"

    public var status: Int {
        switch self {
        case .blobUnknown, .manifestUnknown, .nameUnknown: return 404
        case .digestInvalid, .manifestInvalid, .nameInvalid, .sizeInvalid, .manifestBlobUnknown: return 400
        case .unauthorized: return 401
        case .denied: return 403
        case .unsupported: return 405
        case .tooManyRequests: return 429
        case .rangeInvalid: return 416
        case .unavailable: return 503
        }
    }
}

/// An error answered to a registry client in the spec's JSON shape: `{"errors":[{"code","message","detail"}]}`.
public struct RegistryError: Error, Sendable, Equatable {
    public var code: RegistryErrorCode
    public var message: String

    public init(_ code: RegistryErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var status: Int { self.code.status }

    public var json: String {
        "{\"errors\":[{\"code\":\"\(self.code.rawValue)\",\"message\":\"\(Self.escape(self.message))\",\"detail\":null}]}\n"
    }

    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default:
                if scalar.value < 0x20 { result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16) }
                else { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }
}
