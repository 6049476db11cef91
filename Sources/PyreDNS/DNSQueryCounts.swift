import NIOCore
import Synchronization

/// Queries answered, by transport and response code, and queries relayed to an upstream,
/// since the server started. The UDP threads add a whole batch at once, so counting costs one
/// uncontended lock per `recvmmsg`, not one per query.
public final class DNSQueryCounts: Sendable {
    public enum Transport: Int, CaseIterable, Sendable {
        case udp, tcp
        public var name: String { self == .udp ? "udp" : "tcp" }
    }

    /// `transport * 16 + rcode` → queries.
    private let answered = Mutex<[Int]>(Array(repeating: 0, count: 32))
    private let relayed = Atomic<Int>(0)

    init() {}

    func add(_ tally: RcodeTally, transport: Transport) {
        answered.withLock { counts in
            for rcode in 0..<16 where tally.counts[rcode] > 0 { counts[transport.rawValue * 16 + rcode] += tally.counts[rcode] }
        }
    }

    /// One reply, as the TCP handler counts them.
    func add(rcode: Int, transport: Transport) {
        answered.withLock { $0[transport.rawValue * 16 + rcode] += 1 }
    }

    func addRelayed() { relayed.add(1, ordering: .relaxed) }

    /// Nonzero counts as (transport, rcode name, queries).
    public var answeredQueries: [(transport: Transport, rcode: String, queries: Int)] {
        let counts = answered.withLock { $0 }
        return Transport.allCases.flatMap { transport in
            (0..<16).compactMap { rcode in
                let queries = counts[transport.rawValue * 16 + rcode]
                return queries > 0 ? (transport, Self.rcodeName(rcode), queries) : nil
            }
        }
    }

    /// Queries for names outside the zone sent on to an upstream (their answer is the upstream's).
    public var relayedQueries: Int { relayed.load(ordering: .relaxed) }

    static func rcodeName(_ rcode: Int) -> String {
        ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"].dropFirst(rcode).first ?? "RCODE\(rcode)"
    }
}

/// One thread's replies by response code, before they are added to ``DNSQueryCounts``.
struct RcodeTally {
    var counts = [Int](repeating: 0, count: 16)
    var isEmpty: Bool { !counts.contains { $0 > 0 } }

    mutating func count(_ reply: ByteBuffer) {
        if let rcode = Self.rcode(of: reply) { counts[rcode] += 1 }
    }

    /// The response code of `reply`, whose DNS header starts `header` bytes in: the low half
    /// of the header's fourth byte.
    static func rcode(of reply: ByteBuffer, headerAt header: Int = 0) -> Int? {
        reply.getInteger(at: reply.readerIndex + header + 3, as: UInt8.self).map { Int($0 & 0x0F) }
    }

    mutating func reset() { for index in counts.indices { counts[index] = 0 } }
}
