/// Host names of the public container registries people mirror, to recognise registry upstreams in a cluster.
public enum RegistryHosts {
    static let exact: Set<String> = [
        "registry-1.docker.io", "docker.io", "index.docker.io", "gcr.io", "k8s.gcr.io", "quay.io", "ghcr.io",
        "registry.k8s.io", "mcr.microsoft.com", "public.ecr.aws", "registry.gitlab.com", "nvcr.io", "docker.elastic.co",
    ]
    static let suffixes = [".gcr.io", "-docker.pkg.dev", ".azurecr.io", ".amazonaws.com", ".quay.io"]

    public static func isRegistry(_ host: String) -> Bool {
        let host = host.lowercased()
        return exact.contains(host) || suffixes.contains { host.hasSuffix($0) }
    }
}
