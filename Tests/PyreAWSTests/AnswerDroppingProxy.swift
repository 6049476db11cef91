import Foundation
import Glibc

/// A loopback HTTP proxy in front of moto that passes every exchange through, except that
/// it swallows the answer to the first request whose body contains `marker` (after moto
/// has carried it out) and closes the connection: the client sees a lost answer to a call
/// that took effect.
final class AnswerDroppingProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let marker: String
    private let dropped = Recorder(false)

    var hasDropped: Bool { dropped.value }

    init(upstream: String, dropFirstAnswerTo marker: String) throws {
        guard let url = URL(string: upstream), let upstreamPort = url.port else { throw ProxyError("bad upstream \(upstream)") }
        self.upstreamPort = upstreamPort
        self.marker = marker
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw ProxyError("cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Stops accepting; open exchanges finish on their own.
    func close() { shutdown(listener, Int32(SHUT_RDWR)); Glibc.close(listener) }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            Thread { [self] in relay(client) }.start()
        }
    }

    private func relay(_ client: Int32) {
        defer { Glibc.close(client) }
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(upstream) }
        var address = Self.loopback(port: upstreamPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        var fromClient = Data(), fromUpstream = Data()
        while let request = Self.readMessage(client, buffer: &fromClient) {
            guard Self.writeAll(upstream, request), let answer = Self.readMessage(upstream, buffer: &fromUpstream) else { return }
            var drop = false
            if String(decoding: request, as: UTF8.self).contains(marker) {
                dropped.update { if !$0 { $0 = true; drop = true } }
            }
            if drop || !Self.writeAll(client, answer) { return }
        }
    }

    /// One HTTP/1.1 message with a Content-Length body (or none), or nil at end of stream.
    private static func readMessage(_ socket: Int32, buffer: inout Data) -> Data? {
        let separator = Data("\r\n\r\n".utf8)
        while true {
            if let end = buffer.range(of: separator) {
                let head = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
                let total = end.upperBound - buffer.startIndex + length
                if buffer.count >= total {
                    let message = Data(buffer.prefix(total))
                    buffer = Data(buffer.dropFirst(total))
                    return message
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(socket, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }

    private static func writeAll(_ socket: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { bytes in
            var sent = 0
            while sent < bytes.count {
                let count = send(socket, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                if count <= 0 { return false }
                sent += count
            }
            return true
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        return address
    }
}

struct ProxyError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
