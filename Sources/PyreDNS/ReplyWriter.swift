import NIOCore

/// Writes reply headers, the echoed question (the client's case kept) and the OPT record.
struct ReplyWriter {
    private static let optRecordLength = 11

    let id: UInt16
    let opcode: UInt8
    let recursionDesired: Bool
    let question: UnsafeRawBufferPointer?
    let edns: ParsedQuery.EDNS?

    init(id: UInt16, opcode: UInt8, recursionDesired: Bool) {
        self.id = id
        self.opcode = opcode
        self.recursionDesired = recursionDesired
        question = nil
        edns = nil
    }

    init(_ query: ParsedQuery, question: UnsafeRawBufferPointer) {
        id = query.id
        opcode = query.opcode
        recursionDesired = query.recursionDesired
        self.question = question
        edns = query.edns
    }

    /// FORMERR or NOTIMP: the header alone, counts zero (as NSD).
    func writeHeaderOnly(responseCode: UInt8, into buffer: inout ByteBuffer) {
        writeHeader(authoritative: false, truncated: false, responseCode: UInt16(responseCode),
                    counts: (0, 0, 0, 0), into: &buffer)
    }

    /// REFUSED, NOTIMP or BADVERS with the question: not authoritative, no records.
    func writeRefusal(responseCode: UInt16, into buffer: inout ByteBuffer) {
        writeHeader(authoritative: false, truncated: false, responseCode: responseCode,
                    counts: (1, 0, 0, edns == nil ? 0 : 1), into: &buffer)
        writeQuestion(into: &buffer)
        writeOPT(responseCode: responseCode, into: &buffer)
    }

    /// An authoritative answer; when it does not fit `maxSize`, TC is set and only the
    /// answer RRsets that fit are kept (RFC 2181 §9).
    func writeAnswer(_ answer: PrecomputedAnswer, maxSize: Int, into buffer: inout ByteBuffer) {
        let fixedLength = 12 + (question?.count ?? 0) + (edns == nil ? 0 : Self.optRecordLength)
        let additionalCount: UInt16 = edns == nil ? 0 : 1
        let responseCode = UInt16(answer.responseCode)
        if fixedLength + answer.sections.count <= maxSize {
            writeHeader(authoritative: true, truncated: false, responseCode: responseCode,
                        counts: (1, answer.answerCount, answer.authorityCount, additionalCount), into: &buffer)
            writeQuestion(into: &buffer)
            buffer.writeBytes(answer.sections)
        } else {
            let kept = answer.answerRRsetEnds.last { fixedLength + $0.end <= maxSize } ?? (end: 0, count: 0)
            writeHeader(authoritative: true, truncated: true, responseCode: responseCode,
                        counts: (1, kept.count, 0, additionalCount), into: &buffer)
            writeQuestion(into: &buffer)
            buffer.writeBytes(answer.sections[..<kept.end])
        }
        writeOPT(responseCode: responseCode, into: &buffer)
    }

    private func writeHeader(authoritative: Bool, truncated: Bool, responseCode: UInt16,
                             counts: (UInt16, UInt16, UInt16, UInt16), into buffer: inout ByteBuffer) {
        var flags: UInt16 = 0x8000 | UInt16(opcode) << 11 | (responseCode & 0x0F)
        if authoritative { flags |= 0x0400 }
        if truncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        buffer.writeMultipleIntegers(id, flags, counts.0, counts.1, counts.2, counts.3)
    }

    private func writeQuestion(into buffer: inout ByteBuffer) {
        if let question { buffer.writeBytes(question) }
    }

    /// Our OPT: 1232-byte payload, version 0, DO echoed (RFC 3225), no options.
    private func writeOPT(responseCode: UInt16, into buffer: inout ByteBuffer) {
        guard let edns else { return }
        let extendedCode = UInt8(truncatingIfNeeded: responseCode >> 4)
        let flags: UInt16 = edns.dnssecOK ? 0x8000 : 0
        buffer.writeMultipleIntegers(
            UInt8(0), DNSType.opt, UInt16(DNSResponder.maxUDPPayload), extendedCode, UInt8(0), flags, UInt16(0))
    }
}
