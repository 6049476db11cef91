import CPyreEpoll
import Glibc
import NIOCore

/// An IPv4 or IPv6 address and port as the kernel takes it.
struct TCPAddress: Sendable {
    private var storage = sockaddr_storage()
    private(set) var length: socklen_t = 0

    /// Resolves `host` (`numericOnly`: an IP literal, which needs no lookup) to its first address.
    init(host: String, port: Int, numericOnly: Bool) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | (numericOnly ? AI_NUMERICHOST : 0)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let first = found else {
            throw IOError(errnoCode: EINVAL, reason: "\(host) is not an address: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(found) }
        length = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
    }

    var family: Int32 { Int32(storage.ss_family) }

    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }
}

/// The few socket calls the relay makes, each on a non-blocking, close-on-exec descriptor.
enum TCPSocket {
    /// A listener on `address`, with the port it got (port 0 picks a free one).
    static func listen(on address: TCPAddress) throws -> (descriptor: Int32, port: Int) {
        let descriptor = try open(family: address.family)
        do {
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard address.withSockaddr({ bind(descriptor, $0, $1) }) == 0 else { throw IOError(errnoCode: errno, reason: "bind") }
            guard Glibc.listen(descriptor, 1024) == 0 else { throw IOError(errnoCode: errno, reason: "listen") }
            return (descriptor, try localPort(of: descriptor))
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// A socket whose connect to `address` has started: it is connected once writable with no `pendingError`.
    static func connect(to address: TCPAddress) throws -> Int32 {
        let descriptor = try open(family: address.family)
        setNoDelay(descriptor)
        if address.withSockaddr({ Glibc.connect(descriptor, $0, $1) }) != 0 && errno != EINPROGRESS {
            let code = errno
            close(descriptor)
            throw IOError(errnoCode: code, reason: "connect")
        }
        return descriptor
    }

    /// The error of a finished connect (0 when it succeeded).
    static func pendingError(of descriptor: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &length) == 0 ? code : errno
    }

    /// Whether bytes the peer sent wait to be read (they stay readable after its reset).
    static func hasBytesToRead(_ descriptor: Int32) -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    /// Small requests and replies go out at once rather than waiting for more to fill a segment.
    static func setNoDelay(_ descriptor: Int32) {
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes with SO_LINGER 0, so the peer gets a RST: its next read or write fails at once with
    /// "connection reset", which a client cannot mistake for an empty but complete reply.
    static func reset(_ descriptor: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(descriptor)
    }

    private static func open(family: Int32) throws -> Int32 {
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                                    | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        return descriptor
    }

    private static func localPort(of descriptor: Int32) throws -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0 else { throw IOError(errnoCode: errno, reason: "getsockname") }
        return withUnsafeBytes(of: storage) { bytes in
            // sin_port and sin6_port sit at the same offset, in network order.
            Int(UInt16(bigEndian: bytes.load(fromByteOffset: 2, as: UInt16.self)))
        }
    }
}
