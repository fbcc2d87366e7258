import Crypto
import Foundation

/// Images made for the tests as OCI layouts on disk (gzip'd tar layers of random content, a config, a
/// manifest, and for multi-arch an index over two platforms), then pushed to a real registry with skopeo.
struct TestImage {
    let layout: String
    let tag: String
    /// Every blob and manifest of the image by digest, to check what a pull produced.
    let digests: Set<String>
    let layerDigests: [String]
    let multiArch: Bool

    static func sha256(_ data: Data) -> String {
        "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Builds an image with `layers` layers of `layerSize` random bytes each (per platform when `multiArch`).
    static func make(tag: String = "v1", layers: Int = 2, layerSize: Int = 300_000, multiArch: Bool = false) async throws
    -> TestImage {
        try await ExternalProcess.offPool {
            try self.makeBlocking(tag: tag, layers: layers, layerSize: layerSize, multiArch: multiArch)
        }
    }

    static func makeBlocking(tag: String, layers: Int, layerSize: Int, multiArch: Bool) throws -> TestImage {
        let layout = try ExternalProcess.temporaryDirectory("image")
        let blobs = layout + "/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        var digests: Set<String> = []
        var layerDigests: [String] = []
        @discardableResult
        func write(_ data: Data) throws -> String {
            let digest = sha256(data)
            try data.write(to: URL(fileURLWithPath: blobs + "/" + digest.dropFirst(7)))
            digests.insert(digest)
            return digest
        }
        func descriptor(_ mediaType: String, _ data: Data, platform: String? = nil) throws -> String {
            let digest = try write(data)
            let platformJSON = platform.map { ",\"platform\":{\"architecture\":\"\($0)\",\"os\":\"linux\"}" } ?? ""
            return "{\"mediaType\":\"\(mediaType)\",\"digest\":\"\(digest)\",\"size\":\(data.count)\(platformJSON)}"
        }
        func imageManifest(architecture: String) throws -> Data {
            var layerDescriptors: [String] = []
            var diffIDs: [String] = []
            for index in 0..<layers {
                let work = try ExternalProcess.temporaryDirectory("layer")
                defer { try? FileManager.default.removeItem(atPath: work) }
                var random = [UInt8](repeating: 0, count: layerSize)
                for offset in random.indices { random[offset] = UInt8.random(in: 0...255) }
                try FileManager.default.createDirectory(atPath: work + "/root", withIntermediateDirectories: true)
                try Data(random).write(to: URL(fileURLWithPath: work + "/root/file\(index)-\(architecture)"))
                try ExternalProcess.runBlocking(["tar", "-C", work + "/root", "-cf", work + "/layer.tar", "."])
                let tar = try Data(contentsOf: URL(fileURLWithPath: work + "/layer.tar"))
                diffIDs.append(sha256(tar))
                try ExternalProcess.runBlocking(["gzip", "-n", work + "/layer.tar"])
                let gz = try Data(contentsOf: URL(fileURLWithPath: work + "/layer.tar.gz"))
                layerDescriptors.append(try descriptor("application/vnd.oci.image.layer.v1.tar+gzip", gz))
                layerDigests.append(sha256(gz))
            }
            let config = Data("""
                {"architecture":"\(architecture)","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[\(diffIDs.map { "\"\($0)\"" }.joined(separator: ","))]}}
                """.utf8)
            let configDescriptor = try descriptor("application/vnd.oci.image.config.v1+json", config)
            return Data("""
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\(configDescriptor),"layers":[\(layerDescriptors.joined(separator: ","))]}
                """.utf8)
        }
        let top: String
        if multiArch {
            let amd = try descriptor("application/vnd.oci.image.manifest.v1+json", try imageManifest(architecture: "amd64"), platform: "amd64")
            let arm = try descriptor("application/vnd.oci.image.manifest.v1+json", try imageManifest(architecture: "arm64"), platform: "arm64")
            let index = Data("""
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\(amd),\(arm)]}
                """.utf8)
            top = try descriptor("application/vnd.oci.image.index.v1+json", index)
        } else {
            top = try descriptor("application/vnd.oci.image.manifest.v1+json", try imageManifest(architecture: "amd64"))
        }
        let annotated = String(top.dropLast()) + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"\(tag)\"}}"
        try Data("{\"schemaVersion\":2,\"manifests\":[\(annotated)]}".utf8).write(to: URL(fileURLWithPath: layout + "/index.json"))
        try Data("{\"imageLayoutVersion\":\"1.0.0\"}".utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))
        return TestImage(layout: layout, tag: tag, digests: digests, layerDigests: layerDigests, multiArch: multiArch)
    }

    /// Pushes the image to `reference` (`127.0.0.1:port/team/app`) over plain HTTP.
    func push(to reference: String, credentials: String? = nil) async throws {
        var arguments = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
        if let credentials { arguments += ["--dest-creds", credentials] }
        if self.multiArch { arguments.append("--all") }
        arguments += ["oci:\(self.layout):\(self.tag)", "docker://\(reference):\(self.tag)"]
        try await ExternalProcess.run(arguments)
    }
}

/// skopeo pulling through the mirror into a `dir:` copy, then every file checked against its digest.
enum SkopeoPull {
    /// Pulls `reference` (`127.0.0.1:port/...:tag`) into a fresh directory and returns the digests of what it
    /// wrote, after verifying every file's content against the digest it is named by.
    static func pull(_ reference: String, all: Bool = false, extra: [String] = []) async throws -> Set<String> {
        try await ExternalProcess.offPool { try self.pullBlocking(reference, all: all, extra: extra) }
    }

    static func pullBlocking(_ reference: String, all: Bool, extra: [String]) throws -> Set<String> {
        let target = try ExternalProcess.temporaryDirectory("pull")
        defer { try? FileManager.default.removeItem(atPath: target) }
        var arguments = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--retry-times", "0"] + extra
        if all { arguments.append("--all") }
        arguments += ["docker://\(reference)", "dir:\(target)"]
        try ExternalProcess.runBlocking(arguments)
        var found: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: target) where name.count == 64 {
            let data = try Data(contentsOf: URL(fileURLWithPath: target + "/" + name))
            let digest = TestImage.sha256(data)
            guard digest == "sha256:" + name else {
                throw ExternalProcess.Failure(command: "verify \(name)", status: -1, output: "content is \(digest)")
            }
            found.insert(digest)
        }
        return found
    }
}
