import Foundation
import ProxyConfig
import Synchronization

/// Writes access-log lines to a file off the event loops: lines are handed to a serial queue that
/// appends them in batches, so a slow disk never stalls request handling.
public final class AccessLogWriter: Sendable {
    public let path: String
    private let queue: DispatchQueue
    private let handle: FileHandle?
    private let pending = Mutex<[String]>([])

    public init(path: String) {
        self.path = path
        self.queue = DispatchQueue(label: "mirrord.accesslog.\(path)")
        if path == "/dev/stdout" {
            self.handle = FileHandle.standardOutput
        } else if path == "/dev/stderr" {
            self.handle = FileHandle.standardError
        } else {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            self.handle = FileHandle(forWritingAtPath: path)
            _ = try? self.handle?.seekToEnd()
        }
    }

    public func write(_ line: String) {
        let first = self.pending.withLock { lines -> Bool in
            lines.append(line)
            return lines.count == 1
        }
        guard first else { return }
        self.queue.async { self.drain() }
    }

    private func drain() {
        let lines = self.pending.withLock { lines -> [String] in
            defer { lines.removeAll(keepingCapacity: true) }
            return lines
        }
        guard !lines.isEmpty, let handle = self.handle else { return }
        try? handle.write(contentsOf: Data(lines.joined().utf8))
    }

    /// Waits until everything written so far is on its way to the file (tests and shutdown).
    public func flush() {
        self.queue.sync { self.drain() }
    }
}

/// A configured access log: its format and its writer.
public struct AccessLogger: Sendable {
    public let format: AccessLogFormat
    public let writer: AccessLogWriter

    public func log(_ entry: AccessLogEntry) {
        self.writer.write(self.format.render(entry))
    }
}
