import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port free on `host` now (the kernel picks it). Another process may take it before
/// the caller binds it; tests use it for servers that cannot be told to pick their own.
public func freeLoopbackPort(on host: String = "127.0.0.1") throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw FreePortError(host: host, errno: errno) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
        }
    }
    guard bound else { throw FreePortError(host: host, errno: errno) }
    return Int(UInt16(bigEndian: address.sin_port))
}

public struct FreePortError: Error, CustomStringConvertible {
    public let host: String
    public let errno: Int32
    public var description: String { "cannot find a free port on \(host): \(String(cString: strerror(errno)))" }
}
