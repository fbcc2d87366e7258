/// An HTTP `Range: bytes=...` header resolved against a blob's size (RFC 9110 §14): what to send, or why not.
public enum ByteRanges: Sendable, Equatable {
    /// No usable Range header: send the whole blob (200).
    case whole
    /// One or more satisfiable ranges, in request order, each `lower...upper` inclusive (206).
    case partial([ClosedRange<Int>])
    /// None of the ranges overlaps the blob (416 with `Content-Range: bytes */size`).
    case unsatisfiable

    /// More ranges than this is treated as an attack and answered with the whole blob, as servers commonly do.
    public static let maximumRanges = 64

    public init(header: String?, size: Int) {
        guard let header, header.lowercased().hasPrefix("bytes=") else {
            self = .whole
            return
        }
        let specs = header.dropFirst("bytes=".count).split(separator: ",").map { $0.trimmingCharacters(in: " ") }
        guard !specs.isEmpty, specs.count <= Self.maximumRanges else {
            self = .whole
            return
        }
        var ranges: [ClosedRange<Int>] = []
        for spec in specs {
            let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { self = .whole; return }   // malformed: ignore the header, as the RFC allows
            let first = parts[0], last = parts[1]
            if first.isEmpty {
                // Suffix range: the last N bytes.
                guard let count = Int(last), count > 0 else { self = .whole; return }
                if size > 0 { ranges.append(max(0, size - count)...(size - 1)) }
            } else {
                guard let start = Int(first), start >= 0 else { self = .whole; return }
                let end: Int
                if last.isEmpty {
                    end = size - 1
                } else {
                    guard let value = Int(last), value >= start else { self = .whole; return }
                    end = min(value, size - 1)
                }
                if start < size { ranges.append(start...end) }
            }
        }
        self = ranges.isEmpty ? .unsatisfiable : .partial(ranges)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
