/// The precomputed lookup structure of one zone version: every existing name (including
/// empty non-terminals) maps to a node holding the encoded answer for each type.
final class ZoneSnapshot: Sendable {
    /// CNAME chains longer than this are cut, as resolvers give up on them anyway.
    static let maxCNAMEChain = 8

    let apex: DNSName
    let apexWire: [UInt8]
    var apexWireLength: Int { apexWire.count }
    let soa: SOAFields
    /// In the order given, SOA and apex NS first: the zone file prints them this way.
    let records: [ZoneRecord]
    let names: DNSNameTable
    let nodes: [ZoneNode]
    /// NXDOMAIN answers indexed by the question name's wire length, which fixes where the
    /// apex sits in the question and so the compression pointer of the SOA owner.
    let nameErrorAnswers: [PrecomputedAnswer?]

    /// `records` include the apex SOA and NS.
    init(apex: DNSName, soa: SOAFields, soaTTL: UInt32, records: [ZoneRecord]) {
        self.apex = apex
        apexWire = apex.wire
        self.soa = soa
        self.records = records
        let rrsets = RRsetIndex(records)
        // RFC 2308 §3: a negative answer's SOA carries min(SOA TTL, SOA minimum).
        let negativeSOA = ZoneRecord(name: apex, ttl: min(soaTTL, soa.minimum), data: .soa(soa))

        var nodeNames: [DNSName] = []
        var seen: Set<DNSName> = []
        for owner in rrsets.owners {
            var name: DNSName? = owner
            while let current = name, current.isInside(apex), seen.insert(current).inserted {
                nodeNames.append(current)
                name = current.parent
            }
        }
        let builder = NodeBuilder(apex: apex, rrsets: rrsets, existing: seen, negativeSOA: negativeSOA)
        nodes = nodeNames.map { builder.node(for: $0) }
        names = DNSNameTable(names: nodeNames.map(\.wire))
        let apexLength = apexWire.count
        nameErrorAnswers = (0...DNSName.maxWireLength).map { length in
            guard length >= apexLength + 2 else { return nil }
            return PrecomputedAnswer(
                responseCode: 3, answer: [], authority: [negativeSOA], questionNameLength: length,
                knownNames: [(apex, 12 + length - apexLength)])
        }
    }
}

struct ZoneNode: Sendable {
    var types: [UInt16]
    var answers: [PrecomputedAnswer]
    var otherTypes: PrecomputedAnswer
    var anyType: PrecomputedAnswer

    @inline(__always)
    func answer(for type: UInt16) -> PrecomputedAnswer {
        if type == DNSType.any { return anyType }
        for index in types.indices where types[index] == type { return answers[index] }
        return otherTypes
    }
}

/// Records grouped by owner and type, duplicates removed, one TTL per RRset (the lowest).
struct RRsetIndex {
    private(set) var owners: [DNSName] = []
    private var typesByOwner: [DNSName: [UInt16]] = [:]
    private var recordsByKey: [Key: [ZoneRecord]] = [:]

    private struct Key: Hashable {
        var name: DNSName
        var type: UInt16
    }

    init(_ records: [ZoneRecord]) {
        for record in records {
            let key = Key(name: record.name, type: record.type)
            if typesByOwner[record.name] == nil { owners.append(record.name) }
            if recordsByKey[key] == nil { typesByOwner[record.name, default: []].append(record.type) }
            var rrset = recordsByKey[key, default: []]
            if !rrset.contains(where: { $0.data == record.data }) { rrset.append(record) }
            let ttl = rrset.map(\.ttl).min() ?? record.ttl
            recordsByKey[key] = rrset.map { ZoneRecord(name: $0.name, ttl: ttl, data: $0.data) }
        }
    }

    func types(_ name: DNSName) -> [UInt16] { typesByOwner[name] ?? [] }

    func rrset(_ name: DNSName, _ type: UInt16) -> [ZoneRecord] { recordsByKey[Key(name: name, type: type)] ?? [] }
}
