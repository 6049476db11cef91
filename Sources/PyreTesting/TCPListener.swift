import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener that never accepts (the kernel completes handshakes), at a port the kernel
/// picks or a given one: a stand-in for any host service, or a port held so that Pyre cannot
/// bind it.
public final class TCPListener: Sendable {
    public let port: Int
    private let descriptor: Int32

    /// Listens on `host`, an IPv4 address such as 0.0.0.0 or 127.0.0.1, at `port` (0: any).
    public init(host: String, port: Int = 0) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = inet_pton(AF_INET, host, &address.sin_addr) == 1 && withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 16) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard descriptor >= 0, listening else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { Glibc.close(descriptor) }
            throw ListenerError(description: "cannot listen on \(host): \(reason)")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { Glibc.close(descriptor) }

    public struct ListenerError: Error, CustomStringConvertible {
        public let description: String
    }
}
