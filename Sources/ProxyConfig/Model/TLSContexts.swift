/// Certificates, ALPN and peer validation shared by both TLS directions (Envoy `CommonTlsContext`).
public struct CommonTLSContext: Sendable, Hashable, Encodable {
    public struct Certificate: Sendable, Hashable, Encodable {
        public var certificateChain: DataSource
        public var privateKey: DataSource
    }

    public struct Validation: Sendable, Hashable, Encodable {
        public var trustedCA: DataSource?
        /// SAN matchers (`match_typed_subject_alt_names`), as string matchers over DNS names.
        public var subjectAltNames: [StringMatcher]
    }

    public enum ProtocolVersion: String, EnvoyEnum { case TLS_AUTO, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3 }

    public var certificates: [Certificate]
    public var alpnProtocols: [String]
    public var validation: Validation?
    public var minimumProtocol: ProtocolVersion
    public var maximumProtocol: ProtocolVersion

    static let fields = ["tls_params", "tls_certificates", "tls_certificate_sds_secret_configs", "validation_context",
                         "validation_context_sds_secret_config", "combined_validation_context", "alpn_protocols",
                         "custom_handshaker", "key_log", "tls_certificate_provider_instance"]

    static func decode(_ object: ObjectReader) -> CommonTLSContext {
        for field in ["tls_certificate_sds_secret_configs", "validation_context_sds_secret_config",
                      "custom_handshaker", "key_log", "tls_certificate_provider_instance"] where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord (SDS and providers need a control plane)")
        }
        let params = object.object("tls_params", fields: ["tls_minimum_protocol_version", "tls_maximum_protocol_version",
                                                          "cipher_suites", "ecdh_curves", "signature_algorithms",
                                                          "compliance_policies"]) { params in
            (params.enumeration("tls_minimum_protocol_version", default: ProtocolVersion.TLS_AUTO),
             params.enumeration("tls_maximum_protocol_version", default: ProtocolVersion.TLS_AUTO))
        }
        let certificates = object.list("tls_certificates") { reader -> Certificate? in
            guard let cert = reader.object(["certificate_chain", "private_key", "password", "ocsp_staple",
                                            "watched_directory", "pkey_private_key"]) else { return nil }
            let chain = cert.field("certificate_chain").flatMap(DataSource.decode)
            let key = cert.field("private_key").flatMap(DataSource.decode)
            if chain == nil, !cert.has("certificate_chain") { cert.missing("certificate_chain") }
            if key == nil, !cert.has("private_key") { cert.missing("private_key") }
            guard let chain, let key else { return nil }
            return Certificate(certificateChain: chain, privateKey: key)
        }
        var validation: Validation?
        switch object.oneOf(["validation_context", "combined_validation_context"]) {
        case "validation_context":
            validation = object.object("validation_context", fields: Self.validationFields, Self.decodeValidation)
        case "combined_validation_context":
            validation = object.object("combined_validation_context",
                                       fields: ["default_validation_context", "validation_context_sds_secret_config"]) {
                $0.object("default_validation_context", fields: Self.validationFields, required: true,
                          Self.decodeValidation)
            }
        default: break
        }
        return CommonTLSContext(certificates: certificates, alpnProtocols: object.strings("alpn_protocols"),
                                validation: validation, minimumProtocol: params?.0 ?? .TLS_AUTO,
                                maximumProtocol: params?.1 ?? .TLS_AUTO)
    }

    static let validationFields = ["trusted_ca", "match_typed_subject_alt_names", "match_subject_alt_names",
                                   "verify_certificate_spki", "verify_certificate_hash", "crl", "allow_expired_certificate",
                                   "trust_chain_verification", "only_verify_leaf_cert_crl", "max_verify_depth",
                                   "system_root_certs", "custom_validator_config", "ca_certificate_provider_instance",
                                   "watched_directory"]

    static func decodeValidation(_ object: ObjectReader) -> Validation {
        for field in ["verify_certificate_spki", "verify_certificate_hash", "crl", "custom_validator_config",
                      "ca_certificate_provider_instance", "trust_chain_verification"] where object.has(field) {
            object.field(field)?.error("'\(field)' is not supported by mirrord")
        }
        if object.optionalBool("allow_expired_certificate") == true {
            object.field("allow_expired_certificate")?.error("allow_expired_certificate is refused: expired certificates are never trusted")
        }
        let typed = object.list("match_typed_subject_alt_names") { reader -> StringMatcher? in
            guard let entry = reader.object(["san_type", "matcher", "oid"]) else { return nil }
            return entry.field("matcher").flatMap(StringMatcher.decode)
        }
        let legacy = object.list("match_subject_alt_names", StringMatcher.decode)
        if object.has("match_subject_alt_names") {
            object.field("match_subject_alt_names")?.deprecated(
                "match_subject_alt_names", of: "envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext",
                "use 'match_typed_subject_alt_names'")
        }
        return Validation(trustedCA: object.field("trusted_ca").flatMap(DataSource.decode), subjectAltNames: typed + legacy)
    }
}

/// TLS towards an upstream (Envoy `UpstreamTlsContext`). Unlike Envoy, mirrord verifies certificates by default.
public struct UpstreamTLS: Sendable, Hashable, Encodable {
    public var sni: String?
    public var autoHostSNI: Bool
    public var autoSNISANValidation: Bool
    public var common: CommonTLSContext
    public var source: SourceInfo

    static let fields = ["common_tls_context", "sni", "auto_host_sni", "auto_sni_san_validation", "allow_renegotiation",
                         "max_session_keys", "enforce_rsa_key_usage"]

    /// Decodes `transport_socket {name, typed_config: UpstreamTlsContext}`.
    static func decodeSocket(_ reader: NodeReader) -> UpstreamTLS? {
        guard let socket = reader.object(["name", "typed_config"]) else { return nil }
        guard let typed = socket.field("typed_config") else {
            socket.missing("typed_config")
            return nil
        }
        guard let (_, object) = typed.typedConfig([TypeURL.upstreamTLS], fields: Self.fields) else { return nil }
        if object.optionalBool("allow_renegotiation") == true {
            object.field("allow_renegotiation")?.error("TLS renegotiation is not supported")
        }
        let common = object.object("common_tls_context", fields: CommonTLSContext.fields, CommonTLSContext.decode)
        let sni = object.string("sni")
        if let sni, sni.count > 255 { object.field("sni")?.error("sni is longer than 255 characters") }
        return UpstreamTLS(
            sni: sni, autoHostSNI: object.bool("auto_host_sni", default: false),
            autoSNISANValidation: object.bool("auto_sni_san_validation", default: false),
            common: common ?? CommonTLSContext(certificates: [], alpnProtocols: [], validation: nil,
                                               minimumProtocol: .TLS_AUTO, maximumProtocol: .TLS_AUTO),
            source: object.source)
    }
}

/// TLS termination on a listener's filter chain (Envoy `DownstreamTlsContext`).
public struct DownstreamTLS: Sendable, Hashable, Encodable {
    public var common: CommonTLSContext
    public var requireClientCertificate: Bool
    public var source: SourceInfo

    static func decode(_ reader: NodeReader) -> DownstreamTLS? {
        guard let socket = reader.object(["name", "typed_config"]) else { return nil }
        guard let typed = socket.field("typed_config") else {
            socket.missing("typed_config")
            return nil
        }
        let fields = ["common_tls_context", "require_client_certificate", "require_sni", "session_ticket_keys",
                      "disable_stateless_session_resumption", "session_timeout", "ocsp_staple_policy",
                      "full_scan_certs_on_sni_mismatch", "prefer_client_ciphers", "disable_stateful_session_resumption",
                      "session_ticket_keys_sds_secret_config"]
        guard let (_, object) = typed.typedConfig([TypeURL.downstreamTLS], fields: fields) else { return nil }
        guard let common = object.object("common_tls_context", fields: CommonTLSContext.fields, required: true,
                                         CommonTLSContext.decode) else { return nil }
        if common.certificates.isEmpty {
            object.field("common_tls_context")?.error("a downstream TLS context needs at least one tls_certificates entry")
        }
        return DownstreamTLS(common: common,
                             requireClientCertificate: object.bool("require_client_certificate", default: false),
                             source: object.source)
    }
}
