import NIOCore

public enum DNSTransport: Sendable {
    case udp
    case tcp
}

/// Answers one query from one zone snapshot: a pure function of the query bytes, the
/// transport and the zone, testable without sockets.
public struct DNSResponder: Sendable {
    /// The largest UDP reply, whatever the client advertises (the DNS flag day 2020 value, as NSD).
    public static let maxUDPPayload = 1232
    static let classIN: UInt16 = 1

    let snapshot: ZoneSnapshot

    public init(zone: DNSZone) { snapshot = zone.snapshot }

    /// The reply, or nil when the query must be dropped.
    public func respond(to query: [UInt8], transport: DNSTransport) -> [UInt8]? {
        var buffer = ByteBufferAllocator().buffer(capacity: 512)
        let answered = query.withUnsafeBytes { respond(to: $0, transport: transport, into: &buffer) }
        return answered ? Array(buffer.readableBytesView) : nil
    }

    /// Appends the reply to `response`; returns false when the query must be dropped.
    public func respond(to query: UnsafeRawBufferPointer, transport: DNSTransport,
                        into response: inout ByteBuffer) -> Bool {
        switch parseQuery(query) {
        case .drop:
            return false
        case .headerOnly(let id, let opcode, let recursionDesired, let responseCode):
            let writer = ReplyWriter(id: id, opcode: opcode, recursionDesired: recursionDesired)
            writer.writeHeaderOnly(responseCode: responseCode, into: &response)
        case .query(let parsed):
            answer(parsed, query: query, transport: transport, into: &response)
        }
        return true
    }

    private func answer(_ parsed: ParsedQuery, query: UnsafeRawBufferPointer, transport: DNSTransport,
                        into response: inout ByteBuffer) {
        let writer = ReplyWriter(parsed, question: UnsafeRawBufferPointer(rebasing: query[12..<parsed.questionEnd]))
        if let edns = parsed.edns, edns.version != 0 {
            writer.writeRefusal(responseCode: DNSResponseCode.badVersion, into: &response)
            return
        }
        guard parsed.questionClass == Self.classIN else {
            writer.writeRefusal(responseCode: DNSResponseCode.refused, into: &response)
            return
        }
        let name = UnsafeRawBufferPointer(rebasing: query[12..<parsed.nameEnd])
        guard isInsideZone(name) else {
            writer.writeRefusal(responseCode: DNSResponseCode.refused, into: &response)
            return
        }
        switch parsed.type {
        case DNSType.axfr, DNSType.ixfr:
            // No zone transfers; NSD's codes without provide-xfr.
            let notImplemented = parsed.type == DNSType.axfr && transport == .udp
            writer.writeRefusal(
                responseCode: notImplemented ? DNSResponseCode.notImplemented : DNSResponseCode.refused,
                into: &response)
        default:
            let answer: PrecomputedAnswer
            if let index = snapshot.names.index(of: name) {
                answer = snapshot.nodes[index].answer(for: parsed.type)
            } else if let nameError = snapshot.nameErrorAnswers[name.count] {
                answer = nameError
            } else {
                // Shorter than the apex plus a label yet inside it: only the apex itself,
                // which is always in the table.
                writer.writeRefusal(responseCode: DNSResponseCode.refused, into: &response)
                return
            }
            writer.writeAnswer(answer, maxSize: maxSize(parsed, transport), into: &response)
        }
    }

    private func maxSize(_ parsed: ParsedQuery, _ transport: DNSTransport) -> Int {
        switch transport {
        case .tcp: return Int(UInt16.max)
        case .udp:
            guard let edns = parsed.edns else { return 512 }
            return min(max(512, Int(edns.udpPayloadSize)), Self.maxUDPPayload)
        }
    }

    /// The name ends with the apex at a label boundary (ASCII case folded).
    private func isInsideZone(_ name: UnsafeRawBufferPointer) -> Bool {
        let apexStart = name.count - snapshot.apexWireLength
        guard apexStart >= 0 else { return false }
        var position = 0
        while position < apexStart { position += 1 + Int(name[position]) }
        guard position == apexStart else { return false }
        return snapshot.apexWire.withUnsafeBufferPointer { apex in
            for offset in 0..<apex.count where asciiLowercased(name[apexStart + offset]) != apex[offset] {
                return false
            }
            return true
        }
    }
}
