import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A token realm for Debian's docker-registry with `auth: token` (gcr.io's shape: the realm is another host):
/// issues ES256 JWTs with the signing certificate in `x5c`, which the registry checks against the
/// `rootcertbundle`, for callers presenting the Basic credentials it was given.
final class TokenIssuer: Sendable {
    let port: Int
    let certificateBundle: String
    let service = "test-registry"
    let issuer = "test-issuer"
    private let channel: any Channel
    let requests = Counter()

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        private var withCredentials = 0
        func record(credentials: Bool) {
            self.lock.withLock {
                self.value += 1
                if credentials { self.withCredentials += 1 }
            }
        }
        var total: Int { self.lock.withLock { self.value } }
        var authenticated: Int { self.lock.withLock { self.withCredentials } }
    }

    init(username: String, password: String, group: any EventLoopGroup) async throws {
        let directory = try ExternalProcess.temporaryDirectory("tokens")
        try await ExternalProcess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                 "-nodes", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "2",
                                 "-subj", "/CN=token-issuer"])
        try await ExternalProcess.run(["openssl", "x509", "-in", directory + "/cert.pem", "-outform", "DER", "-out", directory + "/cert.der"])
        let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: directory + "/key.pem", encoding: .utf8))
        let certificate = try Data(contentsOf: URL(fileURLWithPath: directory + "/cert.der")).base64EncodedString()
        self.certificateBundle = directory + "/cert.pem"
        let expected = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        let signer = JWTSigner(key: key, certificate: certificate, issuer: self.issuer, audience: self.service)
        let counter = self.requests
        self.channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(TokenHandler(expected: expected, signer: signer, counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.port = self.channel.localAddress?.port ?? 0
    }

    var realm: String { "http://127.0.0.1:\(self.port)/token" }

    func stop() async { try? await self.channel.close() }
}

struct JWTSigner: Sendable {
    let key: P256.Signing.PrivateKey
    let certificate: String
    let issuer: String
    let audience: String

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func token(scopes: [String]) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let access = scopes.compactMap { scope -> String? in
            let parts = scope.split(separator: ":")
            guard parts.count >= 3 else { return nil }
            let actions = parts.last!.split(separator: ",").map { "\"\($0)\"" }.joined(separator: ",")
            let name = parts[1..<(parts.count - 1)].joined(separator: ":")
            return "{\"type\":\"\(parts[0])\",\"name\":\"\(name)\",\"actions\":[\(actions)]}"
        }.joined(separator: ",")
        let header = "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"x5c\":[\"\(self.certificate)\"]}"
        let claims = "{\"iss\":\"\(self.issuer)\",\"sub\":\"mirror\",\"aud\":\"\(self.audience)\",\"exp\":\(now + 300),\"nbf\":\(now - 10),\"iat\":\(now),\"jti\":\"\(UUID().uuidString)\",\"access\":[\(access)]}"
        let signingInput = Self.base64URL(Data(header.utf8)) + "." + Self.base64URL(Data(claims.utf8))
        let signature = try self.key.signature(for: Data(signingInput.utf8)).rawRepresentation
        return signingInput + "." + Self.base64URL(signature)
    }
}

final class TokenHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let expected: String
    let signer: JWTSigner
    let counter: TokenIssuer.Counter

    init(expected: String, signer: JWTSigner, counter: TokenIssuer.Counter) {
        self.expected = expected
        self.signer = signer
        self.counter = counter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = self.unwrapInboundIn(data) else { return }
        let authorized = head.headers.first(name: "authorization") == self.expected
        self.counter.record(credentials: authorized)
        var status = HTTPResponseStatus.unauthorized
        var body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}"
        if authorized {
            let scopes = URLComponents(string: head.uri)?.queryItems?.filter { $0.name == "scope" }.compactMap(\.value) ?? []
            if let token = try? self.signer.token(scopes: scopes) {
                status = .ok
                body = "{\"token\":\"\(token)\",\"expires_in\":300}"
            }
        }
        var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.utf8.count))])
        headers.add(name: "connection", value: "keep-alive")
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
    }
}
