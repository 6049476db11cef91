/// What the responder needs from a query, read with bounds checks only (no allocation).
struct ParsedQuery {
    var id: UInt16
    var opcode: UInt8
    var recursionDesired: Bool
    /// The question (name, type, class) occupies bytes 12..<questionEnd.
    var questionEnd: Int
    var nameEnd: Int
    var type: UInt16
    var questionClass: UInt16
    var edns: EDNS?

    struct EDNS {
        var udpPayloadSize: UInt16
        var version: UInt8
        var dnssecOK: Bool
    }
}

enum QueryParseResult {
    /// Not a query we may answer (too short for a header, or a response): say nothing.
    case drop
    /// A header-only reply carrying this response code (FORMERR, NOTIMP).
    case headerOnly(id: UInt16, opcode: UInt8, recursionDesired: Bool, responseCode: UInt8)
    case query(ParsedQuery)
}

/// Parses a query the way NSD judges one: QR set or no header → drop; other opcodes →
/// NOTIMP; a response code set, QDCOUNT ≠ 1, answer or authority records, a compressed or
/// truncated question, or an additional section other than one well-formed OPT → FORMERR.
func parseQuery(_ bytes: UnsafeRawBufferPointer) -> QueryParseResult {
    guard bytes.count >= 12, bytes[2] & 0x80 == 0 else { return .drop }
    let id = readUInt16(bytes, 0)
    let opcode = (bytes[2] >> 3) & 0x0F
    let recursionDesired = bytes[2] & 0x01 != 0
    func failure(_ responseCode: UInt8) -> QueryParseResult {
        .headerOnly(id: id, opcode: opcode, recursionDesired: recursionDesired, responseCode: responseCode)
    }
    guard opcode == 0 else { return failure(4) }
    guard bytes[3] & 0x0F == 0, readUInt16(bytes, 4) == 1, readUInt16(bytes, 6) == 0, readUInt16(bytes, 8) == 0
    else { return failure(1) }
    let additionalCount = readUInt16(bytes, 10)

    var position = 12
    while true {
        guard position < bytes.count else { return failure(1) }
        let length = Int(bytes[position])
        // A pointer or reserved label type is not expected in a question.
        guard length & 0xC0 == 0 else { return failure(1) }
        position += 1 + length
        guard position - 12 <= DNSName.maxWireLength else { return failure(1) }
        if length == 0 { break }
    }
    let nameEnd = position
    guard nameEnd + 4 <= bytes.count else { return failure(1) }
    var query = ParsedQuery(
        id: id, opcode: opcode, recursionDesired: recursionDesired, questionEnd: nameEnd + 4, nameEnd: nameEnd,
        type: readUInt16(bytes, nameEnd), questionClass: readUInt16(bytes, nameEnd + 2), edns: nil)

    switch additionalCount {
    case 0: break
    case 1:
        guard let edns = parseOPT(bytes, at: query.questionEnd) else { return failure(1) }
        query.edns = edns
    default: return failure(1)
    }
    return .query(query)
}

/// An OPT record (RFC 6891 §6.1.2): root owner, type 41, options that fit their RDATA.
private func parseOPT(_ bytes: UnsafeRawBufferPointer, at start: Int) -> ParsedQuery.EDNS? {
    guard start + 11 <= bytes.count, bytes[start] == 0, readUInt16(bytes, start + 1) == DNSType.opt else { return nil }
    let dataLength = Int(readUInt16(bytes, start + 9))
    var position = start + 11
    let end = position + dataLength
    guard end <= bytes.count else { return nil }
    while position < end {
        guard position + 4 <= end else { return nil }
        position += 4 + Int(readUInt16(bytes, position + 2))
        guard position <= end else { return nil }
    }
    return ParsedQuery.EDNS(
        udpPayloadSize: readUInt16(bytes, start + 3), version: bytes[start + 6],
        dnssecOK: bytes[start + 7] & 0x80 != 0)
}

@inline(__always)
func readUInt16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
    UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}
