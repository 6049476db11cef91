import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends syslog messages to loopback as fast as the sockets take them: our own loader, in
/// place of syslog-ng's loggen (which conflicts with rsyslog as a Debian package).
enum SyslogLoader {
    /// A `size`-byte RFC 5424 message carrying its number and the time it was sent (µs).
    static func message(_ number: Int, size: Int = 300, sentAt: Int64 = 0) -> [UInt8] {
        let head = "<134>1 2026-11-27T10:00:00.000000Z loadhost bench 4242 - - n=\(number) t=\(sentAt) "
        return Array((head + String(repeating: "x", count: max(size - head.utf8.count, 0))).utf8)
    }

    /// Octet-counted frames of messages `first..<first+count`, ready to send in one go.
    static func octetCounted(first: Int, count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 305)
        for number in first..<(first + count) {
            let message = message(number)
            bytes += Array("\(message.count) ".utf8) + message
        }
        return bytes
    }

    /// Sends each buffer on its own TCP connection from its own thread, all at once (not
    /// `concurrentPerform`, which runs only as many as there are cores); returns when all are sent.
    static func sendTCP(_ buffers: [[UInt8]], port: Int) throws {
        let descriptors = try buffers.map { _ in try connect(port: port) }
        defer { descriptors.forEach { close($0) } }
        let done = DispatchGroup()
        for (buffer, descriptor) in zip(buffers, descriptors) {
            done.enter()
            Thread {
                try? sendAll(buffer, on: descriptor)
                done.leave()
            }.start()
        }
        done.wait()
    }

    static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            close(descriptor)
            throw BenchmarkFailure("cannot connect to 127.0.0.1:\(port)")
        }
        return descriptor
    }

    static func sendAll(_ bytes: [UInt8], on descriptor: Int32) throws {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if result < 0 {
                if errno == EINTR { continue }
                throw BenchmarkFailure("send failed: \(String(cString: strerror(errno)))")
            }
            sent += result
        }
    }

    /// Sends `count` datagrams as fast as one thread can; returns how many the kernel took.
    static func sendUDP(count: Int, port: Int) -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(descriptor) }
        var address = loopback(port)
        var sent = 0
        for number in 0..<count {
            let message = message(number)
            let result = message.withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            if result > 0 { sent += 1 }
        }
        return sent
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
