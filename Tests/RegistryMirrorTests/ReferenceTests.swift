import Testing
@testable import RegistryMirror

/// The distribution-spec grammar: what may reach a URL or a file name.
@Suite struct ReferenceTests {
    @Test(arguments: ["library/alpine", "pause", "a/b/c", "my-repo", "a__b", "a.b_c-d", "x0/y9", "a--b"])
    func validNames(_ text: String) { #expect(RepositoryName(parsing: text) != nil) }

    @Test(arguments: ["", "Library/alpine", "../etc", "a//b", "a/", "/a", "-a", "a-", "a___b", "a..b", "a b", "a/../b",
                      String(repeating: "a", count: 256)])
    func invalidNames(_ text: String) { #expect(RepositoryName(parsing: text) == nil) }

    @Test(arguments: ["latest", "3.20", "v1.0.0-rc_1", "_x", String(repeating: "a", count: 128)])
    func validTags(_ text: String) { #expect(Tag(parsing: text) != nil) }

    @Test(arguments: ["", ".x", "-x", "a/b", "a:b", String(repeating: "a", count: 129)])
    func invalidTags(_ text: String) { #expect(Tag(parsing: text) == nil) }

    @Test func digests() {
        let hex = String(repeating: "ab", count: 32)
        #expect(Digest(parsing: "sha256:\(hex)")?.description == "sha256:\(hex)")
        #expect(Digest(parsing: "sha256:\(hex.uppercased())") == nil)
        #expect(Digest(parsing: "sha256:\(hex)0") == nil)
        #expect(Digest(parsing: "md5:\(hex)") == nil)
        #expect(Digest(parsing: "sha256:../../etc/passwd") == nil)
        #expect(Digest(parsing: "sha512:" + String(repeating: "0", count: 128)) != nil)
        #expect(ManifestReference(parsing: "sha256:\(hex)") == .digest(Digest(parsing: "sha256:\(hex)")!))
        #expect(ManifestReference(parsing: "3.9") == .tag(Tag(parsing: "3.9")!))
        #expect(ManifestReference(parsing: "sha256:short") == nil)
    }
}
