import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Watches the directories that hold the LDS/CDS files and reports every change in them.
///
/// It watches directories, not files (a watch on a file dies when the file is replaced), for every way
/// people change a file: an atomic rename (Envoy's only trigger), an in-place write, `cp` over it, delete and
/// re-create, and a Kubernetes ConfigMap `..data` symlink swap. Deciding whether anything really changed is the
/// reloader's job (content hash). Without inotify it polls size, mtime and inode every `pollInterval`.
public final class DirectoryWatcher: Sendable {
    public enum Mode: String, Sendable { case inotify, polling }

    public let mode: Mode
    private let directories: [String]
    private let files: [String]
    private let onChange: @Sendable (String) -> Void
    private let stopped = Atomic<Bool>(false)
    private let descriptor: Int32
    public static let pollInterval: Duration = .milliseconds(500)

    /// `files` are the paths whose directories are watched (and, when polling, the files compared).
    public init(files: [String], extraDirectories: [String] = [], forcePolling: Bool = false,
                onChange: @escaping @Sendable (String) -> Void) {
        self.files = files
        var directories = Set(files.map { ($0 as NSString).deletingLastPathComponent }).map { $0.isEmpty ? "." : $0 }
        directories += extraDirectories
        self.directories = Array(Set(directories)).sorted()
        self.onChange = onChange
        let fd = forcePolling ? -1 : inotify_init1(Int32(IN_CLOEXEC))
        var watching = fd >= 0
        if fd >= 0 {
            let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)
            for directory in self.directories where inotify_add_watch(fd, directory, mask) < 0 { watching = false }
            if !watching { Glibc.close(fd) }
        }
        self.descriptor = watching ? fd : -1
        self.mode = watching ? .inotify : .polling
    }

    public func start() {
        // The polling baseline is taken now, not when the thread first runs: a change made in between
        // (a loaded machine can start a thread late) must still count as a change.
        let baseline = self.files.map(Self.fingerprint)
        let thread = Thread { [self] in
            if self.mode == .inotify { self.readEvents() } else { self.pollFiles(from: baseline) }
        }
        thread.name = "mirrord-config-watch"
        thread.start()
    }

    public func stop() { self.stopped.store(true, ordering: .relaxed) }

    private func readEvents() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        while !self.stopped.load(ordering: .relaxed) {
            // A bounded wait, so stop() is noticed without closing a descriptor another thread reads.
            guard Glibc.poll(&poller, 1, 200) > 0 else { continue }
            let count = read(self.descriptor, &buffer, buffer.count)
            guard count > 0 else { continue }
            var offset = 0
            while offset + 16 <= count {
                let length = Int(buffer[offset + 12]) | Int(buffer[offset + 13]) << 8 | Int(buffer[offset + 14]) << 16
                    | Int(buffer[offset + 15]) << 24
                let nameBytes = buffer[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 }
                self.onChange(String(decoding: nameBytes, as: UTF8.self))
                offset += 16 + length
            }
        }
        Glibc.close(self.descriptor)
    }

    private func pollFiles(from baseline: [[Int]]) {
        var last = baseline
        while !self.stopped.load(ordering: .relaxed) {
            Thread.sleep(forTimeInterval: Double(Self.pollInterval.components.attoseconds) / 1e18
                         + Double(Self.pollInterval.components.seconds))
            let current = self.files.map(Self.fingerprint)
            if current != last {
                last = current
                self.onChange("")
            }
        }
    }

    /// Size, modification time and inode: enough to notice any of the ways a file is replaced or edited.
    static func fingerprint(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [-1] }
        return [Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_ino)]
    }
}
