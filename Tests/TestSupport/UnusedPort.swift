#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 that nothing listens on, for a server whose configuration must name its port
/// before it starts (a listener kept across reloads, a registry's config file, a refused connection).
///
/// Why not bind port 0 and close it: the kernel hands that same port to the next `connect` or port-0 bind,
/// and with tests running in parallel something else held it by the time the server bound it (CI failed
/// with EADDRINUSE that way). Ports below the ephemeral range are never chosen by the kernel, so only
/// another picker could take one; a random choice among thousands, probed with a bind, makes that remote.
public func unusedPort() -> Int {
    let (low, high) = ephemeralRange()
    // Below the ephemeral range when there is room, else above it; a machine whose range covers nearly all
    // ports leaves only the probe to rely on.
    let candidates = low >= 12_000 ? 10_000..<low : high <= 63_000 ? (high + 1)..<65_536 : 10_000..<65_536
    for _ in 0..<64 {
        let port = Int.random(in: candidates)
        if canBind(port) { return port }
    }
    fatalError("no free port in \(candidates) after 64 tries")
}

/// The kernel's range for automatically chosen ports (Linux's default when /proc cannot be read).
private func ephemeralRange() -> (Int, Int) {
    guard let file = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r") else { return (32_768, 60_999) }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 64)
    guard fgets(&line, Int32(line.count), file) != nil else { return (32_768, 60_999) }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    guard bounds.count == 2, bounds[0] > 0, bounds[1] >= bounds[0] else { return (32_768, 60_999) }
    return (bounds[0], bounds[1])
}

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
