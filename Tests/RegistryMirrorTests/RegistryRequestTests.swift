import Testing
@testable import RegistryMirror

/// Every routing form, Docker Hub normalisation, contradictions and hostile paths, one row each.
@Suite struct RegistryRequestTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test(arguments: [
        // target, default registry (virtual host), expected registry, expected name, kind
        ("/v2/", nil, nil, nil, "base"),
        ("/v2/?ns=gcr.io", nil, "gcr.io", nil, "base"),
        ("/v2/pause/manifests/3.9", "gcr.io", nil, "pause", "manifest 3.9"),                                // host-based
        ("/v2/gcr.io/pause/manifests/3.9", nil, "gcr.io", "pause", "manifest 3.9"),                          // path-prefix
        ("/v2/pause/manifests/3.9?ns=registry.k8s.io", nil, "registry.k8s.io", "pause", "manifest 3.9"),     // containerd
        ("/quay.io/v2/coreos/etcd/manifests/v3.5", nil, "quay.io", "coreos/etcd", "manifest v3.5"),          // registry-first
        ("/v2/alpine/manifests/latest", "registry-1.docker.io", nil, "library/alpine", "manifest latest"),   // library/
        ("/v2/docker.io/alpine/blobs/\(digest)", nil, "docker.io", "library/alpine", "blob"),
        ("/v2/alpine/tags/list?ns=docker.io&n=10&last=3.19", nil, "docker.io", "library/alpine", "tags 10 3.19"),
        ("/v2/my.org/team/app/manifests/\(digest)", nil, "my.org", "team/app", "manifest digest"),
        ("/v2/library/ubuntu/referrers/\(digest)", "docker.io", nil, "library/ubuntu", "referrers"),
        ("/v2/localhost:5000/x/manifests/1", nil, "localhost:5000", "x", "manifest 1"),
    ] as [(String, String?, String?, String?, String)])
    func validRequests(target: String, host: String?, registry: String?, name: String?, kind: String) throws {
        let request = try RegistryRequest(target: target, defaultRegistry: host)
        #expect(request.registry == registry)
        #expect(request.name?.value == name)
        let described: String
        switch request.kind {
        case .base: described = "base"
        case .manifest(.tag(let tag)): described = "manifest \(tag.value)"
        case .manifest(.digest): described = "manifest digest"
        case .blob: described = "blob"
        case .tags(let count, let last): described = "tags \(count.map(String.init) ?? "-") \(last ?? "-")"
        case .referrers: described = "referrers"
        }
        #expect(described == kind)
    }

    @Test(arguments: [
        ("/v2/../../etc/passwd/blobs/\(digest)", nil, RegistryErrorCode.nameInvalid),
        ("/v2/x/blobs/sha256:../../etc", nil, .nameInvalid),                    // traversal refused before parsing
        ("/v2/x/blobs/sha256:..%2F..%2Fetc", nil, .digestInvalid),
        ("/v2/x/blobs/sha256:ABCDEF", nil, .digestInvalid),
        ("/v2/x/manifests/sha256:short", nil, .digestInvalid),
        ("/v2/x/manifests/-bad-tag", nil, .manifestInvalid),
        ("/v2/Upper/manifests/1", nil, .nameInvalid),
        ("/v2/a//b/manifests/1", nil, .nameInvalid),
        ("/v2/gcr.io/pause/manifests/1?ns=quay.io", nil, .denied),               // ns contradicts the path
        ("/v2/pause/manifests/1?ns=quay.io", "gcr.io", .denied),                 // ns contradicts the host
        ("/v2/quay.io/pause/manifests/1", "gcr.io", .denied),                    // path contradicts the host
        ("/v2/pause/manifests/1?ns=not_a_host", nil, .nameInvalid),
        ("/v2/x/uploads/1", nil, .unsupported),
        ("/admin", nil, .unsupported),
        ("/v2/x/tags/list?n=-1", nil, .unsupported),
    ] as [(String, String?, RegistryErrorCode)])
    func refusedRequests(target: String, host: String?, code: RegistryErrorCode) {
        do {
            _ = try RegistryRequest(target: target, defaultRegistry: host)
            Issue.record("\(target) was accepted")
        } catch {
            #expect(error.code == code, "\(target): \(error.message)")
        }
    }

    @Test func errorsUseTheSpecsJSONShape() {
        let error = RegistryError(.nameUnknown, "repository \"x\" is not mirrored")
        #expect(error.status == 404)
        #expect(error.json == "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository \\\"x\\\" is not mirrored\",\"detail\":null}]}\n")
    }

    @Test(arguments: [
        (nil, 100, ByteRanges.whole),
        ("bytes=0-9", 100, .partial([0...9])),
        ("bytes=90-", 100, .partial([90...99])),
        ("bytes=-10", 100, .partial([90...99])),
        ("bytes=-500", 100, .partial([0...99])),
        ("bytes=0-0,50-59,98-200", 100, .partial([0...0, 50...59, 98...99])),
        ("bytes=100-", 100, .unsatisfiable),
        ("bytes=5-2", 100, .whole),
        ("items=0-9", 100, .whole),
        ("bytes=abc", 100, .whole),
    ] as [(String?, Int, ByteRanges)])
    func ranges(header: String?, size: Int, expected: ByteRanges) {
        #expect(ByteRanges(header: header, size: size) == expected)
    }
}
