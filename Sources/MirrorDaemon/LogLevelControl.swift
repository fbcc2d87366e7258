import Logging
import Synchronization

/// One log level for the whole process, changeable at run time (`POST /logging?level=debug`).
final class LogLevelControl: Sendable {
    private let current: Mutex<Logger.Level>

    init(_ level: Logger.Level) { self.current = Mutex(level) }

    var level: Logger.Level { self.current.withLock { $0 } }

    func set(_ name: String) -> Bool {
        guard let level = Logger.Level(rawValue: name.lowercased() == "warn" ? "warning" : name.lowercased()) else { return false }
        self.current.withLock { $0 = level }
        return true
    }

    /// swift-log's stderr handler, whose level is read from the control on every message.
    struct Handler: LogHandler {
        var inner: StreamLogHandler
        let control: LogLevelControl

        var logLevel: Logger.Level {
            get { self.control.level }
            set { _ = self.control.set(newValue.rawValue) }
        }

        var metadata: Logger.Metadata {
            get { self.inner.metadata }
            set { self.inner.metadata = newValue }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.inner[metadataKey: key] }
            set { self.inner[metadataKey: key] = newValue }
        }

        func log(event: LogEvent) {
            self.inner.log(event: event)
        }
    }
}
