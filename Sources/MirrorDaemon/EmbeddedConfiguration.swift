import ProxyConfig

/// The configuration `mirrord` runs with no `-c`: what `mirrorctl init` writes with no options (a mirror of
/// docker.io, quay.io, gcr.io, ghcr.io and registry.k8s.io on 0.0.0.0:5000), also kept as `examples/quickstart/`
/// (a test keeps the three equal).
public enum EmbeddedConfiguration {
    /// Virtual paths; relative LDS/CDS paths in the bootstrap resolve next to it, as on disk.
    public static let bootstrapPath = "<embedded>/envoy.yaml"

    public static let files: [String: String] = Dictionary(uniqueKeysWithValues: MirrorSetup().files.map {
        ("<embedded>/\($0.key)", $0.value)
    })
}
