/// Manifest media types and the client's `Accept`, negotiated locally.
///
/// The mirror fetches every manifest upstream with the full list below and stores the answer byte for byte
/// with its media type; each client then gets that stored manifest only if its `Accept` admits the type, never
/// a conversion. Keying a cache on the raw `Accept` string misses on reordered headers (research §1.2).
public enum ManifestMediaTypes {
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"

    /// What the mirror sends upstream on every manifest request, whatever the client asked for.
    public static let all = [ociIndex, ociManifest, dockerManifestList, dockerManifest]
    public static let upstreamAccept = all.joined(separator: ", ")

    /// Whether `Accept` header values admit `mediaType` (RFC 9110 §12.5.1): an exact type, `type/*` or `*/*`,
    /// parameters ignored but for `q`, and a `q=0` entry refusing what it names. The most specific matching
    /// entry decides. Returns nil when there is no `Accept` at all, so the caller applies its own default.
    public static func accepts(_ mediaType: String, accept values: [String]) -> Bool? {
        let ranges = values.flatMap { $0.split(separator: ",") }.compactMap(MediaRange.init)
        guard !ranges.isEmpty else { return nil }
        let wanted = mediaType.lowercased()
        let matching = ranges.filter { $0.matches(wanted) }
        guard let best = matching.max(by: { $0.specificity < $1.specificity }) else { return false }
        return best.quality > 0
    }
}

/// One entry of an `Accept` header.
private struct MediaRange {
    let type: String
    let subtype: String
    let quality: Double

    init?(_ entry: Substring) {
        let parts = entry.split(separator: ";").map { $0.trimmingASCIIWhitespace() }
        guard let range = parts.first, !range.isEmpty else { return nil }
        let pieces = range.lowercased().split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty else { return nil }
        self.type = String(pieces[0])
        self.subtype = String(pieces[1])
        var quality = 1.0
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingASCIIWhitespace() }
            if pair.count == 2, pair[0].lowercased() == "q" {
                guard let value = Double(pair[1]), value >= 0, value <= 1 else { return nil }
                quality = value
            }
        }
        self.quality = quality
    }

    /// `*/*` < `type/*` < `type/subtype`.
    var specificity: Int { self.type == "*" ? 0 : self.subtype == "*" ? 1 : 2 }

    func matches(_ mediaType: String) -> Bool {
        if self.type == "*" { return self.subtype == "*" }
        let pieces = mediaType.split(separator: "/", maxSplits: 1)
        guard pieces.count == 2, pieces[0] == self.type else { return false }
        return self.subtype == "*" || pieces[1] == self.subtype
    }
}

private extension StringProtocol {
    func trimmingASCIIWhitespace() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
