/// What `mirrorctl init` prints after writing the files: how to run mirrord on them and how to point each
/// client at the mirror (research/registry-mirrors.md §4 says how each client addresses a mirror).
extension MirrorSetup {
    public func instructions(directory: String) -> String {
        let host = self.listen.address == "0.0.0.0" || self.listen.address == "::" ? "<this-host>" : self.listen.address
        let mirror = "\(host):\(self.listen.portValue)"
        let example = self.upstreams.first { $0.name != "docker.io" }?.name ?? self.upstreams[0].name
        var text = """
            Wrote \(directory)/envoy.yaml, lds.yaml and cds.yaml (validated).

            Run the mirror:
              mirrord -c \(directory)/envoy.yaml
            Check an edit before it goes live (mirrord reloads the files on change):
              mirrorctl validate \(directory)/envoy.yaml

            Point clients at http://\(mirror) (plain HTTP; put TLS in front or add a TLS filter chain for remote clients):

            docker (/etc/docker/daemon.json; Docker mirrors Docker Hub only):
              { "registry-mirrors": ["http://\(mirror)"], "insecure-registries": ["\(mirror)"] }

            containerd (config_path = "/etc/containerd/certs.d"; one directory per registry):
            """
        for upstream in self.upstreams {
            text += """

                  /etc/containerd/certs.d/\(upstream.name)/hosts.toml:
                    server = "\(upstream.url.absoluteString)"
                    [host."http://\(mirror)"]
                      capabilities = ["pull", "resolve"]
                      dial_timeout = "2s"
                """
        }
        text += """


            podman / CRI-O / skopeo (/etc/containers/registries.conf):
            """
        for upstream in self.upstreams {
            text += """

                  [[registry]]
                  prefix = "\(upstream.name)"
                  location = "\(upstream.name)"
                  [[registry.mirror]]
                  location = "\(mirror)/\(upstream.name)"
                  insecure = true
                """
        }
        text += """


            Or pull through the mirror by name: skopeo copy --src-tls-verify=false docker://\(mirror)/\(example)/<name>:<tag> ...

            """
        return text
    }
}
