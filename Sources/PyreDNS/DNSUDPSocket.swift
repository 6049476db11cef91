import CPyreDatagram
import Logging
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One SO_REUSEPORT UDP socket served by one blocking thread: a burst of queries is taken
/// with one recvmmsg, answered into buffers allocated once, and sent with one sendmmsg.
/// NIO's datagram channel allocated an envelope, a buffer and a pipeline pass per query,
/// which left Pyre at 0.85–1.06× NSD's queries per second.
final class DNSUDPSocket: Sendable {
    /// Datagrams taken per recvmmsg call.
    static let burst = 32
    /// A longer query is cut by the kernel and so answered FORMERR (queries are rarely > 512).
    static let maxQuerySize = 2048
    /// UDP replies never exceed it: larger answers are truncated (TC) by the responder.
    static let maxReplySize = DNSResponder.maxUDPPayload

    let descriptor: Int32
    let port: Int
    private let stopping = Atomic<Bool>(false)
    private let logger: Logger

    /// Binds a socket that shares `address` with the other sockets of the same listener.
    init(address: SocketAddress, logger: Logger) throws {
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketFailure("socket", errno) }
        var on: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        let bound = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, size) == 0
            && setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &on, size) == 0
            && address.withSockAddr { Glibc.bind(descriptor, $0, socklen_t($1)) } == 0
        guard bound, let port = Self.localPort(descriptor) else {
            let failure = SocketFailure("bind \(address)", errno)
            _ = Glibc.close(descriptor)
            throw failure
        }
        self.descriptor = descriptor
        self.port = port
        self.logger = logger
    }

    private static func localPort(_ descriptor: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let found = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) == 0 }
        }
        guard found else { return nil }
        return withUnsafeBytes(of: storage) { raw in
            // sin_port and sin6_port sit at the same offset, in network order.
            Int(UInt16(raw[2]) << 8 | UInt16(raw[3]))
        }
    }

    /// Wakes the serving thread, which then returns. Linux ends a blocked receive on shutdown
    /// with an empty datagram, the same as a client may send: hence the flag.
    func shutdownReceiving() {
        stopping.store(true, ordering: .releasing)
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }

    func close() { _ = Glibc.close(descriptor) }

    /// Answers queries until `shutdownReceiving` is called. Runs on its own thread.
    func serve(zone: CurrentZone, forwarder: DNSForwarder?, counts: DNSQueryCounts) {
        let buffers = BurstBuffers()
        var tally = RcodeTally()
        defer { buffers.deallocate() }
        var cache = zone.cacheForNewHandler
        var reply = ByteBufferAllocator().buffer(capacity: Self.maxReplySize)
        while true {
            buffers.prepareReceive()
            let received = pyre_recvmmsg(descriptor, buffers.receiveHeaders, UInt32(Self.burst))
            if stopping.load(ordering: .acquiring) { return }
            if received < 0 {
                if errno == EINTR { continue }
                if errno == EBADF || errno == EINVAL { return }
                logger.debug("DNS UDP receive failed", metadata: ["errno": "\(errno)"])
                continue
            }
            let responder = zone.responder(cache: &cache)
            var replies = 0
            for index in 0..<Int(received) {
                let query = buffers.query(index)
                reply.clear()
                guard responder.respond(to: query, transport: .udp, into: &reply) else { continue }
                if let forwarder, Self.isRefusedQuery(reply) {
                    // Outside the zone, for a listener that serves clients with no other nameserver.
                    forwarder.forward(ByteBuffer(bytes: query), replyingWith: replySender(to: buffers.sender(index)))
                    counts.addRelayed()
                    continue
                }
                tally.count(reply)
                if buffers.stageReply(reply, slot: replies, to: index) { replies += 1 }
            }
            send(buffers.sendHeaders, count: replies)
            if !tally.isEmpty {
                counts.add(tally, transport: .udp)
                tally.reset()
            }
        }
    }

    /// Sends every staged reply; a send that fails (an unreachable client) skips that one.
    private func send(_ headers: UnsafeMutablePointer<pyre_mmsghdr>, count: Int) {
        var sent = 0
        while sent < count {
            let result = pyre_sendmmsg(descriptor, headers + sent, UInt32(count - sent))
            if result > 0 {
                sent += Int(result)
            } else if errno != EINTR {
                sent += 1
            }
        }
    }

    private func replySender(to client: ClientAddress) -> @Sendable (ByteBuffer) -> Void {
        let descriptor = descriptor
        return { answer in
            var client = client
            answer.withUnsafeReadableBytes { bytes in
                withUnsafePointer(to: &client.storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        _ = sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, client.length)
                    }
                }
            }
        }
    }

    /// REFUSED to a standard query: the responder's answer for a name outside the zone.
    private static func isRefusedQuery(_ reply: ByteBuffer) -> Bool {
        guard let flags = reply.getInteger(at: reply.readerIndex + 2, as: UInt16.self) else { return false }
        return flags & 0x000F == 5 && (flags >> 11) & 0xF == 0
    }
}

struct ClientAddress: Sendable {
    var storage: sockaddr_storage
    var length: socklen_t
}

/// A socket call of the UDP listener failed; `code` is its errno.
public struct SocketFailure: Error, CustomStringConvertible {
    public let description: String
    public let code: Int32
    init(_ call: String, _ code: Int32) {
        description = "DNS UDP \(call) failed: \(String(cString: strerror(code)))"
        self.code = code
    }
}

/// The receive and send arrays of one serving thread, allocated once.
private struct BurstBuffers {
    private let count = DNSUDPSocket.burst
    private let queries: UnsafeMutableRawPointer
    private let replies: UnsafeMutableRawPointer
    private let senders: UnsafeMutablePointer<sockaddr_storage>
    private let receiveVectors: UnsafeMutablePointer<iovec>
    private let sendVectors: UnsafeMutablePointer<iovec>
    let receiveHeaders: UnsafeMutablePointer<pyre_mmsghdr>
    let sendHeaders: UnsafeMutablePointer<pyre_mmsghdr>

    init() {
        queries = .allocate(byteCount: count * DNSUDPSocket.maxQuerySize, alignment: 16)
        replies = .allocate(byteCount: count * DNSUDPSocket.maxReplySize, alignment: 16)
        senders = .allocate(capacity: count)
        receiveVectors = .allocate(capacity: count)
        sendVectors = .allocate(capacity: count)
        receiveHeaders = .allocate(capacity: count)
        sendHeaders = .allocate(capacity: count)
        for index in 0..<count {
            receiveVectors[index] = iovec(iov_base: queries + index * DNSUDPSocket.maxQuerySize,
                                          iov_len: DNSUDPSocket.maxQuerySize)
        }
    }

    func prepareReceive() {
        for index in 0..<count {
            receiveHeaders[index] = pyre_mmsghdr()
            receiveHeaders[index].msg_hdr.msg_name = UnsafeMutableRawPointer(senders + index)
            receiveHeaders[index].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            receiveHeaders[index].msg_hdr.msg_iov = receiveVectors + index
            receiveHeaders[index].msg_hdr.msg_iovlen = 1
        }
    }

    func query(_ index: Int) -> UnsafeRawBufferPointer {
        let length = min(Int(receiveHeaders[index].msg_len), DNSUDPSocket.maxQuerySize)
        return UnsafeRawBufferPointer(start: receiveVectors[index].iov_base, count: length)
    }

    func sender(_ index: Int) -> ClientAddress {
        ClientAddress(storage: senders[index], length: receiveHeaders[index].msg_hdr.msg_namelen)
    }

    /// Copies `reply` into send slot `slot`, addressed to the sender of query `index`.
    func stageReply(_ reply: ByteBuffer, slot: Int, to index: Int) -> Bool {
        guard reply.readableBytes <= DNSUDPSocket.maxReplySize else { return false }
        let destination = replies + slot * DNSUDPSocket.maxReplySize
        reply.withUnsafeReadableBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        sendVectors[slot] = iovec(iov_base: destination, iov_len: reply.readableBytes)
        sendHeaders[slot] = pyre_mmsghdr()
        sendHeaders[slot].msg_hdr.msg_name = UnsafeMutableRawPointer(senders + index)
        sendHeaders[slot].msg_hdr.msg_namelen = receiveHeaders[index].msg_hdr.msg_namelen
        sendHeaders[slot].msg_hdr.msg_iov = sendVectors + slot
        sendHeaders[slot].msg_hdr.msg_iovlen = 1
        return true
    }

    func deallocate() {
        queries.deallocate()
        replies.deallocate()
        senders.deallocate()
        receiveVectors.deallocate()
        sendVectors.deallocate()
        receiveHeaders.deallocate()
        sendHeaders.deallocate()
    }
}
