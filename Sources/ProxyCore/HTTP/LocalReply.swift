import NIOHTTP1

/// A response mirrord makes itself, with Envoy's status, body text and response flag.
struct LocalReply {
    var status: HTTPResponseStatus
    var body: String
    var flag: String
    var extraHeaders: [(String, String)] = []

    static let noRoute = LocalReply(status: .notFound, body: "", flag: "NR")
    static func noCluster(_ status: Int) -> LocalReply {
        LocalReply(status: HTTPResponseStatus(statusCode: status), body: "", flag: "NC")
    }
    static let noHealthyUpstream = LocalReply(status: .serviceUnavailable, body: "no healthy upstream", flag: "UH")
    static let overflow = LocalReply(status: .serviceUnavailable,
                                     body: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
                                     flag: "UO")
    static let connectFailure = LocalReply(
        status: .serviceUnavailable,
        body: "upstream connect error or disconnect/reset before headers. reset reason: connection failure", flag: "UF")
    static let upstreamReset = LocalReply(
        status: .serviceUnavailable,
        body: "upstream connect error or disconnect/reset before headers. reset reason: connection termination", flag: "UC")
    /// The upstream's answer was not HTTP/1 as `HTTP1HeadParser` reads it (or came unasked).
    static let upstreamProtocolError = LocalReply(
        status: .serviceUnavailable,
        body: "upstream connect error or disconnect/reset before headers. reset reason: protocol error", flag: "UPE")
    static let upstreamTimeout = LocalReply(status: .gatewayTimeout, body: "upstream request timeout", flag: "UT")
    static let streamIdleTimeout = LocalReply(status: .requestTimeout, body: "stream timeout", flag: "SI")

    static func reply(for error: any Error) -> LocalReply {
        if error is HTTP1HeadError { return .upstreamProtocolError }
        switch error as? UpstreamError {
        case .noHealthyUpstream?: return .noHealthyUpstream
        case .overflow?: return .overflow
        case .connectFailure?, .connectTimeout?, .tlsConfiguration?: return .connectFailure
        case .resetBeforeResponse?, nil: return .upstreamReset
        }
    }
}
