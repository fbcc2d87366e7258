import NIOCore
import NIOSSL
import NIOTLS

/// Checks, once the TLS handshake is done, that the upstream certificate names the host we meant.
///
/// NIOSSL accepts a certificate whose IP-address SAN equals the connected address even when the DNS name
/// asked for does not match; a mirror that dials `registry.example.com` by IP must not accept that. So when
/// a host name is expected, a DNS SAN (or, without SANs, the CN) must match it. Any TLS failure before the
/// handshake completes is reported as a connection failure (503, flag UF), as Envoy does.
final class UpstreamIdentityVerifier: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let expectedHostname: String?
    private let cluster: UpstreamCluster
    private var handshakeDone = false

    init(expectedHostname: String?, cluster: UpstreamCluster) {
        self.expectedHostname = expectedHostname?.lowercased()
        self.cluster = cluster
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            self.handshakeDone = true
            if let expected = self.expectedHostname,
               let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self),
               let certificate = ssl.peerCertificate,
               !Self.certificate(certificate, names: expected) {
                self.cluster.stats.connectFailures.increment()
                self.cluster.stats.tlsVerifySANFailures.increment()
                context.fireErrorCaught(UpstreamError.connectFailure("upstream certificate is not valid for \(expected)"))
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !self.handshakeDone, !(error is UpstreamError) {
            self.cluster.stats.connectFailures.increment()
            self.cluster.stats.tlsConnectionErrors.increment()
            context.fireErrorCaught(UpstreamError.connectFailure("TLS: \(error)"))
        } else {
            context.fireErrorCaught(error)
        }
    }

    /// RFC 6125 with DNS SANs only (a leading `*.` matches exactly one label). Like Go and current browsers,
    /// a certificate without SANs does not name anything: its CN is not consulted.
    static func certificate(_ certificate: NIOSSLCertificate, names host: String) -> Bool {
        for name in certificate._subjectAlternativeNames() where name.nameType == .dnsName {
            if Self.matches(pattern: String(decoding: Array(name.contents), as: UTF8.self).lowercased(), host: host) { return true }
        }
        return false
    }

    static func matches(pattern: String, host: String) -> Bool {
        let host = host.hasSuffix(".") ? String(host.dropLast()) : host
        if pattern == host { return true }
        guard pattern.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
        return host[dot...] == pattern.dropFirst() && host.distance(from: host.startIndex, to: dot) > 0
    }
}

@available(*, unavailable)
extension UpstreamIdentityVerifier: Sendable {}
