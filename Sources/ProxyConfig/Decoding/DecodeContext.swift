/// The diagnostics of one file being decoded, and the limits that keep a hostile file cheap.
final class DecodeContext {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    /// Counts list elements visited; aliases can make a small file expand exponentially.
    private var visited = 0
    private var exhausted = false

    static let maximumVisits = 1_000_000
    static let maximumDiagnostics = 500

    init(file: String) { self.file = file }

    func report(_ diagnostic: Diagnostic) {
        guard self.diagnostics.count < Self.maximumDiagnostics else { return }
        self.diagnostics.append(diagnostic)
        if self.diagnostics.count == Self.maximumDiagnostics {
            self.diagnostics.append(Diagnostic(
                .error, at: diagnostic.location, path: "",
                "too many problems; stopped reporting after \(Self.maximumDiagnostics)"))
        }
    }

    /// False once the document has expanded beyond what any real configuration holds.
    func visit(_ count: Int, at location: SourceLocation, path: String) -> Bool {
        guard !self.exhausted else { return false }
        self.visited += count
        if self.visited > Self.maximumVisits {
            self.exhausted = true
            self.report(Diagnostic(
                .error, at: location, path: path,
                "document expands to more than \(Self.maximumVisits) values (aliases nested too deeply?)"))
            return false
        }
        return true
    }
}
