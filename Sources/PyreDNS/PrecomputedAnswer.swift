/// The answer and authority sections for one (name, type), encoded once per snapshot for a
/// question that starts at offset 12, so a query only adds its header and question.
struct PrecomputedAnswer: Sendable {
    var responseCode: UInt8
    var answerCount: UInt16
    var authorityCount: UInt16
    var sections: [UInt8]
    /// End offset (within `sections`) and record count after each complete answer RRset:
    /// a truncated reply keeps the RRsets that fit, as NSD does.
    var answerRRsetEnds: [(end: Int, count: UInt16)]

    /// Encodes `answer` RRsets and `authority` records for a question name of `questionNameLength`
    /// wire bytes; `knownNames` are names the question holds, with their offsets.
    init(responseCode: UInt8, answer: [[ZoneRecord]], authority: [ZoneRecord],
         questionNameLength: Int, knownNames: [(DNSName, Int)]) {
        var writer = DNSWireWriter(base: 12 + questionNameLength + 4)
        for (name, offset) in knownNames { writer.registerName(name, at: offset) }
        var ends: [(end: Int, count: UInt16)] = []
        var count: UInt16 = 0
        for rrset in answer {
            for record in rrset { writer.writeRecord(record) }
            count += UInt16(rrset.count)
            ends.append((writer.bytes.count, count))
        }
        for record in authority { writer.writeRecord(record) }
        self.responseCode = responseCode
        self.answerCount = count
        self.authorityCount = UInt16(authority.count)
        self.sections = writer.bytes
        self.answerRRsetEnds = ends
    }
}
