import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client on a plain socket, so tests see exactly what crossed the wire: keep-alive
/// reuse, truncated bodies, closed connections. Calls run off Swift's cooperative threads.
final class RawHTTPClient: @unchecked Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// False when the connection closed before the body was complete.
        var complete: Bool
        /// Fields after a chunked body's last chunk.
        var trailers: [(String, String)] = []

        func header(_ name: String) -> String? { self.headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        var text: String { String(decoding: self.body, as: UTF8.self) }
    }

    enum ClientError: Error { case connect(Int32), closed, timeout }

    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    let port: Int

    init(port: Int, timeoutSeconds: Int = 10) throws {
        self.port = port
        self.fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(self.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 { throw ClientError.connect(errno) }
    }

    deinit { if self.fd >= 0 { Glibc.close(self.fd) } }

    func close() {
        if self.fd >= 0 { Glibc.close(self.fd) }
        self.fd = -1
    }

    /// Sends raw bytes (for malformed requests and pipelining).
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        try self.send(bytes)
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { throw ClientError.closed }
            offset += written
        }
    }

    func request(_ path: String, method: String = "GET", host: String, headers: [(String, String)] = [],
                 body: String? = nil) throws -> Response {
        var text = "\(method) \(path) HTTP/1.1\r\nhost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "content-length: \(body.utf8.count)\r\n" }
        text += "\r\n" + (body ?? "")
        try self.send(text)
        return try self.readResponse(method: method)
    }

    /// True when the server closed the connection (a read returns end of file).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(self.fd, &byte, 1, 0) == 0
    }

    func readResponse(method: String = "GET") throws -> Response {
        let headerEnd = try self.readUntil([13, 10, 13, 10])
        let head = String(decoding: self.buffer[..<headerEnd], as: UTF8.self)
        self.buffer.removeFirst(headerEnd + 4)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = Response(status: status, headers: headers, body: [], complete: true)
        if method == "HEAD" || status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            while self.buffer.count < length {
                if !(try self.fill()) { response.complete = false; break }
            }
            let take = min(length, self.buffer.count)
            response.body = Array(self.buffer[..<take])
            self.buffer.removeFirst(take)
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                guard let lineEnd = try? self.readUntil([13, 10]) else { response.complete = false; break }
                let sizeField = String(decoding: self.buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                let size = Int(sizeField, radix: 16) ?? 0
                self.buffer.removeFirst(lineEnd + 2)
                if size == 0 {
                    // Trailer fields, then the empty line.
                    while let end = try? self.readUntil([13, 10]) {
                        let line = String(decoding: self.buffer[..<end], as: UTF8.self)
                        self.buffer.removeFirst(end + 2)
                        if line.isEmpty { break }
                        let parts = line.split(separator: ":", maxSplits: 1)
                        response.trailers.append((String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""))
                    }
                    break
                }
                while self.buffer.count < size + 2 {
                    if !(try self.fill()) { response.complete = false; return response }
                }
                response.body += self.buffer[..<size]
                self.buffer.removeFirst(size + 2)
                if size == 0 { break }
            }
        } else {
            while try self.fill() {}
            response.body = self.buffer
            self.buffer = []
        }
        return response
    }

    /// Reads and discards a body of unknown interest, counting bytes, with an optional pause per read.
    func drainBody(expected: Int, pauseMicroseconds: UInt32 = 0) throws -> Int {
        var total = self.buffer.count
        self.buffer = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while total < expected {
            if pauseMicroseconds > 0 { usleep(pauseMicroseconds) }
            let count = recv(self.fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            total += count
        }
        return total
    }

    /// Reads the response head only, leaving the body on the socket.
    func readHead() throws -> Response {
        let headerEnd = try self.readUntil([13, 10, 13, 10])
        let head = String(decoding: self.buffer[..<headerEnd], as: UTF8.self)
        self.buffer.removeFirst(headerEnd + 4)
        let lines = head.components(separatedBy: "\r\n")
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: Int(lines[0].split(separator: " ")[1]) ?? 0, headers: headers, body: [], complete: true)
    }

    private func readUntil(_ marker: [UInt8]) throws -> Int {
        while true {
            if let index = self.find(marker) { return index }
            if !(try self.fill()) { throw ClientError.closed }
        }
    }

    private func find(_ marker: [UInt8]) -> Int? {
        guard self.buffer.count >= marker.count else { return nil }
        for index in 0...(self.buffer.count - marker.count) where self.buffer[index] == marker[0] {
            if Array(self.buffer[index..<(index + marker.count)]) == marker { return index }
        }
        return nil
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let count = recv(self.fd, &chunk, chunk.count, 0)
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw ClientError.timeout }
            return false
        }
        if count == 0 { return false }
        self.buffer += chunk[..<count]
        return true
    }
}

/// Runs blocking client work on a thread of its own, off Swift's cooperative pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    // A thread of its own, not GCD's global queue: that runs only about as many blocking bodies at once as there
    // are cores, and the registry tests running in parallel in the same process block it too.
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
