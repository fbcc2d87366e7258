/// Suggests the known name closest to a misspelt one, the way compilers do.
enum DidYouMean {
    /// The closest candidate within an edit distance that scales with the word's length, if any.
    static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        let word = word.lowercased()
        let limit = max(1, min(3, word.count / 3))
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word, candidate.lowercased())
            if distance <= limit, distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        if best == nil {
            // A prefix or suffix mistake ("lb_endpoint" for "lb_endpoints") beyond the distance limit.
            best = candidates.first { candidate in
                let shorter = min(candidate.count, word.count), longer = max(candidate.count, word.count)
                return shorter >= 4 && shorter * 10 >= longer * 6
                    && (candidate.lowercased().hasPrefix(word) || word.hasPrefix(candidate.lowercased()))
            }.map { ($0, 0) }
        }
        return best?.name
    }

    static func phrase(for word: String, among candidates: some Sequence<String>) -> String {
        guard let name = suggestion(for: word, among: candidates) else { return "" }
        return " (did you mean '\(name)'?)"
    }

    /// Damerau–Levenshtein (optimal string alignment) distance: a swapped pair counts as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = Swift.min(current[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}
