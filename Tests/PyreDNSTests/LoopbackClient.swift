#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal blocking DNS client for 127.0.0.1 that sends raw bytes (malformed ones too).
enum LoopbackClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The reply, or nil when none came within `timeoutSeconds` (the server dropped the query).
    static func udp(_ query: [UInt8], port: Int, timeoutSeconds: Int = 2) throws -> [UInt8]? {
        let socket = try openSocket(.datagram, port: port, timeoutSeconds: timeoutSeconds)
        defer { close(socket) }
        guard send(socket, query, query.count, 0) == query.count else { throw Failure(description: "send failed") }
        var reply = [UInt8](repeating: 0, count: 65535)
        let count = recv(socket, &reply, reply.count, 0)
        return count < 0 ? nil : Array(reply.prefix(count))
    }

    /// Sends every query on one connection in a single write (pipelining) and reads as many
    /// replies; nil entries when the server closed the connection first.
    static func tcp(_ queries: [[UInt8]], port: Int, timeoutSeconds: Int = 5) throws -> [[UInt8]?] {
        let socket = try openSocket(.stream, port: port, timeoutSeconds: timeoutSeconds)
        defer { close(socket) }
        let stream = queries.flatMap { be(UInt16($0.count)) + $0 }
        guard send(socket, stream, stream.count, 0) == stream.count else { throw Failure(description: "send failed") }
        return queries.map { _ in
            guard let length = readExactly(socket, 2) else { return nil }
            return readExactly(socket, Int(length[0]) << 8 | Int(length[1]))
        }
    }

    /// True when the server closes an idle connection within `timeoutSeconds`.
    static func serverClosesIdleConnection(port: Int, timeoutSeconds: Int) throws -> Bool {
        let socket = try openSocket(.stream, port: port, timeoutSeconds: timeoutSeconds)
        defer { close(socket) }
        var byte: UInt8 = 0
        return recv(socket, &byte, 1, 0) == 0
    }

    private static func readExactly(_ socket: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let result = bytes.withUnsafeMutableBytes { recv(socket, $0.baseAddress! + received, count - received, 0) }
            guard result > 0 else { return nil }
            received += result
        }
        return bytes
    }

    private enum Kind {
        case datagram
        case stream

        var socketType: Int32 {
            #if canImport(Glibc)
            Int32(self == .datagram ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue)
            #else
            self == .datagram ? SOCK_DGRAM : SOCK_STREAM
            #endif
        }
    }

    private static func openSocket(_ kind: Kind, port: Int, timeoutSeconds: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, kind.socketType, 0)
        guard descriptor >= 0 else { throw Failure(description: "socket failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed")
        }
        return descriptor
    }
}
