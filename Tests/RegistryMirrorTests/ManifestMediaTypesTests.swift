import Testing
@testable import RegistryMirror

/// Local negotiation of a stored manifest's media type against the client's `Accept`.
@Suite struct ManifestMediaTypesTests {
    typealias Types = ManifestMediaTypes

    @Test func containerdsListAdmitsEveryManifestType() {
        // containerd's resolver Accept (research §1.2), as one header value.
        let containerd = [Types.dockerManifest, Types.dockerManifestList, Types.ociManifest, Types.ociIndex, "*/*"]
            .joined(separator: ", ")
        for type in Types.all { #expect(Types.accepts(type, accept: [containerd]) == true) }
    }

    @Test func aClientThatListsOnlyDockerTypesIsNotGivenAnOCIIndex() {
        let docker = [Types.dockerManifest, Types.dockerManifestList]
        #expect(Types.accepts(Types.ociIndex, accept: docker) == false)
        #expect(Types.accepts(Types.ociManifest, accept: docker) == false)
        #expect(Types.accepts(Types.dockerManifestList, accept: docker) == true)
    }

    @Test func qualityZeroRefusesAndTheMostSpecificEntryDecides() {
        #expect(Types.accepts(Types.ociIndex, accept: ["*/*, \(Types.ociIndex);q=0"]) == false)
        #expect(Types.accepts(Types.ociManifest, accept: ["*/*, \(Types.ociIndex); q=0"]) == true)
        #expect(Types.accepts(Types.ociIndex, accept: ["application/*;q=0.5", "*/*;q=0"]) == true)
        #expect(Types.accepts(Types.ociIndex, accept: ["application/*; q=0, */*"]) == false)
        #expect(Types.accepts(Types.dockerManifest, accept: ["APPLICATION/VND.DOCKER.DISTRIBUTION.MANIFEST.V2+JSON"]) == true)
    }

    @Test func noAcceptLeavesTheDecisionToTheCaller() {
        #expect(Types.accepts(Types.ociIndex, accept: []) == nil)
        #expect(Types.accepts(Types.ociIndex, accept: [" , "]) == nil)
        // Malformed entries are ignored, not taken as wildcards.
        #expect(Types.accepts(Types.ociIndex, accept: ["garbage, text/plain"]) == false)
        #expect(Types.accepts(Types.ociIndex, accept: ["\(Types.ociIndex);q=2"]) == nil)
    }

    @Test func upstreamAcceptNamesEveryType() {
        for type in Types.all { #expect(Types.upstreamAccept.contains(type)) }
    }
}
