import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A faithful stand-in for Docker Hub, which the tests cannot reach (research/registry-mirrors.md §2):
/// - the registry answers 401 `Bearer realm="<auth port>/token",service="registry.docker.io"` without a token,
///   and checks the token's scope on every manifest and blob request;
/// - the token realm runs on another port and hands out anonymous tokens (`token` and `access_token`,
///   `expires_in` 300);
/// - blob GETs are 307 redirects to a "CDN" port with a signed URL, and the CDN refuses any request that still
///   carries `Authorization` (as Cloudflare's storage does);
/// - manifest responses carry the rate-limit headers; faults (truncated or corrupted blobs, 5xx, 429, slow
///   bodies) can be injected per blob.
final class FakeDockerHub: Sendable {
    enum Fault: Sendable, Equatable {
        case truncate
        case corrupt
        case status(Int)
        case slow(milliseconds: Int)
        /// Sends this many bytes of the body, then nothing more (the connection stays open).
        case stall(afterBytes: Int)
    }

    struct Content: Sendable {
        var manifests: [String: (mediaType: String, bytes: Data)] = [:]   // "repo:tag" and "repo@digest"
        var blobs: [String: Data] = [:]
        var faults: [String: Fault] = [:]                                 // by blob digest, "manifest", "token"
        var requests: [String] = []                                       // "PORTROLE METHOD path"
        var tokensIssued = 0
    }

    let state = HubStore()
    private let channels: [any Channel]
    let registryPort: Int
    let authPort: Int
    let cdnPort: Int

    init(group: any EventLoopGroup) async throws {
        var channels: [any Channel] = []
        var ports: [Int] = []
        let state = self.state
        for role in [Role.registry, .auth, .cdn] {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(FakeHubHandler(role: role, state: state))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            channels.append(channel)
            ports.append(channel.localAddress?.port ?? 0)
        }
        self.channels = channels
        self.registryPort = ports[0]
        self.authPort = ports[1]
        self.cdnPort = ports[2]
        FakeHubHandler.ports.withLock { $0[ports[0]] = (ports[1], ports[2]) }
    }

    func stop() async {
        for channel in self.channels { try? await channel.close() }
    }

    /// Adds an image: `layers` blobs, a config, and a Docker v2 manifest tagged `tag` in `repository`.
    @discardableResult
    func addImage(_ repository: String, tag: String, layers: [Data]) -> (manifest: String, blobs: [String]) {
        func digest(_ data: Data) -> String { TestImage.sha256(data) }
        let config = Data("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}".utf8)
        let layerJSON = layers.map {
            "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":\($0.count),\"digest\":\"\(digest($0))\"}"
        }.joined(separator: ",")
        let manifest = Data("""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":\(config.count),"digest":"\(digest(config))"},"layers":[\(layerJSON)]}
            """.utf8)
        let manifestDigest = digest(manifest)
        self.state.withLock { state in
            let entry = (mediaType: "application/vnd.docker.distribution.manifest.v2+json", bytes: manifest)
            state.manifests["\(repository):\(tag)"] = entry
            state.manifests["\(repository)@\(manifestDigest)"] = entry
            state.blobs[digest(config)] = config
            for layer in layers { state.blobs[digest(layer)] = layer }
        }
        return (manifestDigest, [digest(config)] + layers.map(digest))
    }

    func setFault(_ fault: Fault?, for key: String) { self.state.withLock { $0.faults[key] = fault } }

    /// How many requests matching `fragment` the role (`registry`, `auth`, `cdn`) received.
    func count(_ role: String, _ fragment: String) -> Int {
        self.state.withLock { $0.requests.filter { $0.hasPrefix(role + " ") && $0.contains(fragment) }.count }
    }

    func resetCounts() { self.state.withLock { $0.requests = [] } }
}

enum Role: String, Sendable { case registry, auth, cdn }

/// The fake's content and request log, shared by its three servers.
final class HubStore: Sendable {
    private let mutex = Mutex(FakeDockerHub.Content())

    func withLock<T: Sendable>(_ body: (inout FakeDockerHub.Content) -> T) -> T {
        self.mutex.withLock { body(&$0) }
    }
}

/// One connection of the fake: registry, token realm or CDN, by port.
final class FakeHubHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let ports = Mutex<[Int: (auth: Int, cdn: Int)]>([:])
    let role: Role
    let state: HubStore

    init(role: Role, state: HubStore) {
        self.role = role
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = self.unwrapInboundIn(data) else { return }
        self.state.withLock { $0.requests.append("\(self.role.rawValue) \(head.method.rawValue) \(head.uri)") }
        let localPort = context.channel.localAddress?.port ?? 0
        switch self.role {
        case .auth: self.token(head, context: context)
        case .registry: self.registry(head, context: context, port: localPort)
        case .cdn: self.cdn(head, context: context)
        }
    }

    private func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, headers: [(String, String)] = [],
                      body: Data = Data(), head isHead: Bool = false, truncateTo: Int? = nil, delay: Int = 0) {
        var responseHeaders = HTTPHeaders(headers)
        responseHeaders.replaceOrAdd(name: "content-length", value: String(body.count))
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: responseHeaders))),
                      promise: nil)
        if isHead {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let payload = truncateTo.map { body.prefix($0) } ?? body
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        let write: @Sendable () -> Void = {
            let context = bound.value
            context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: payload)))), promise: nil)
            if truncateTo != nil {
                context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer()))), promise: nil)
                context.close(promise: nil)
            } else {
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
        if delay > 0 {
            context.flush()
            loop.scheduleTask(in: .milliseconds(Int64(delay))) { write() }
        } else {
            write()
        }
    }

    private func token(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        if case .status(let code)? = self.state.withLock({ $0.faults["token"] }) {
            self.send(context, HTTPResponseStatus(statusCode: code))
            return
        }
        let scope = URLComponents(string: head.uri)?.queryItems?.first { $0.name == "scope" }?.value ?? ""
        self.state.withLock { $0.tokensIssued += 1 }
        let token = "tok:" + Data(scope.utf8).base64EncodedString()
        let body = Data("{\"token\":\"\(token)\",\"access_token\":\"\(token)\",\"expires_in\":300,\"issued_at\":\"\(ISO8601DateFormatter().string(from: Date()))\"}".utf8)
        self.send(context, .ok, headers: [("content-type", "application/json")], body: body)
    }

    private func registry(_ head: HTTPRequestHead, context: ChannelHandlerContext, port: Int) {
        let (authPort, cdnPort) = Self.ports.withLock { $0[port] } ?? (0, 0)
        let path = head.uri.split(separator: "?")[0]
        let challenge = "Bearer realm=\"http://127.0.0.1:\(authPort)/token\",service=\"registry.docker.io\""
        if path == "/v2/" || path == "/v2" {
            self.send(context, .unauthorized, headers: [("www-authenticate", challenge)], body: Data("{\"errors\":[]}".utf8))
            return
        }
        let parts = path.split(separator: "/").map(String.init)   // v2, name..., kind, reference
        guard parts.count >= 4 else { return self.send(context, .notFound) }
        let name = parts[1..<(parts.count - 2)].joined(separator: "/")
        let kind = parts[parts.count - 2], reference = parts[parts.count - 1]
        let expected = "Bearer tok:" + Data("repository:\(name):pull".utf8).base64EncodedString()
        guard head.headers.first(name: "authorization") == expected else {
            self.send(context, .unauthorized, headers: [("www-authenticate", challenge + ",scope=\"repository:\(name):pull\"")],
                      body: Data("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}".utf8))
            return
        }
        let (manifests, blobs, faults) = self.state.withLock { ($0.manifests, $0.blobs, $0.faults) }
        if kind == "manifests" {
            if case .status(let code)? = faults["manifest"] { return self.send(context, HTTPResponseStatus(statusCode: code)) }
            if case .slow(let milliseconds)? = faults["manifest"] {
                // A slow link: the answer, as things stood when the request came, leaves after the delay.
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds))) {
                    self.manifest(head, name: name, reference: reference, manifests: manifests, context: context)
                }
                return
            }
            self.manifest(head, name: name, reference: reference, manifests: manifests, context: context)
        } else if kind == "tags", reference == "list" {
            // Lexical order, paged by n and last, with a Link to the next page (the spec's shape).
            let tags = manifests.keys.filter { $0.hasPrefix(name + ":") }.map { String($0.dropFirst(name.count + 1)) }.sorted()
            let query = URLComponents(string: head.uri)?.queryItems ?? []
            let last = query.first { $0.name == "last" }?.value
            let count = query.first { $0.name == "n" }?.value.flatMap(Int.init) ?? tags.count
            let after = tags.filter { last == nil || $0 > last! }
            let page = Array(after.prefix(count))
            var headers: [(String, String)] = [("content-type", "application/json")]
            if page.count < after.count, let end = page.last {
                headers.append(("link", "</v2/\(name)/tags/list?n=\(count)&last=\(end)>; rel=\"next\""))
            }
            let body = "{\"name\":\"\(name)\",\"tags\":[\(page.map { "\"\($0)\"" }.joined(separator: ","))]}"
            self.send(context, .ok, headers: headers, body: Data(body.utf8))
        } else if kind == "blobs" {
            if case .status(let code)? = faults[reference] {
                return self.send(context, HTTPResponseStatus(statusCode: code), headers: code == 429 ? [("retry-after", "30")] : [])
            }
            guard blobs[reference] != nil else { return self.send(context, .notFound) }
            self.send(context, .temporaryRedirect,
                      headers: [("location", "http://127.0.0.1:\(cdnPort)/registry-v2/blobs/\(reference)/data?sig=\(UInt32.random(in: 0...UInt32.max))")])
        } else {
            self.send(context, .notFound)
        }
    }

    private func manifest(_ head: HTTPRequestHead, name: String, reference: String,
                          manifests: [String: (mediaType: String, bytes: Data)], context: ChannelHandlerContext) {
        let key = reference.contains(":") ? "\(name)@\(reference)" : "\(name):\(reference)"
        guard let manifest = manifests[key] else {
            return self.send(context, .notFound, body: Data("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}".utf8))
        }
        self.send(context, .ok, headers: [("content-type", manifest.mediaType),
                                          ("docker-content-digest", TestImage.sha256(manifest.bytes)),
                                          ("ratelimit-limit", "100;w=21600"), ("ratelimit-remaining", "99;w=21600"),
                                          ("docker-ratelimit-source", "192.0.2.1")],
                  body: manifest.bytes, head: head.method == .HEAD)
    }

    private func cdn(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        if head.headers.contains(name: "authorization") {
            return self.send(context, .badRequest, body: Data("<Error><Code>InvalidArgument</Code><Message>Missing x-amz-content-sha256</Message></Error>".utf8))
        }
        let parts = head.uri.split(separator: "?")[0].split(separator: "/")
        guard parts.count >= 3, let data = self.state.withLock({ $0.blobs[String(parts[2])] }) else {
            return self.send(context, .notFound)
        }
        switch self.state.withLock({ $0.faults[String(parts[2])] }) {
        case .truncate?: self.send(context, .ok, body: data, truncateTo: data.count / 2)
        case .corrupt?:
            var corrupted = data
            corrupted[corrupted.count / 2] ^= 0xFF
            self.send(context, .ok, body: corrupted)
        case .slow(let milliseconds)?: self.send(context, .ok, body: data, delay: milliseconds)
        case .stall(let count)?:
            var headers = HTTPHeaders([("content-length", String(data.count))])
            headers.add(name: "content-type", value: "application/octet-stream")
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data.prefix(count))))), promise: nil)
        default: self.send(context, .ok, headers: [("content-type", "application/octet-stream")], body: data,
                           head: head.method == .HEAD)
        }
    }
}
