/// Computes the answers of one node when a snapshot is built: positive answers, NODATA,
/// minimal ANY (RFC 8482) and in-zone CNAME chains followed as NSD and Knot do.
struct NodeBuilder {
    let apex: DNSName
    let rrsets: RRsetIndex
    /// Every name that exists in the zone, empty non-terminals included.
    let existing: Set<DNSName>
    let negativeSOA: ZoneRecord

    func node(for name: DNSName) -> ZoneNode {
        let types = rrsets.types(name)
        if types.contains(DNSType.cname) { return cnameNode(name) }
        let answers = types.map { answer(name, [rrsets.rrset(name, $0)]) }
        let anyType = types.first.map { first in
            answer(name, [rrsets.rrset(name, name == apex ? DNSType.soa : first)])
        }
        let noData = answer(name, [], authority: [negativeSOA])
        return ZoneNode(types: types, answers: answers, otherTypes: noData, anyType: anyType ?? noData)
    }

    private func cnameNode(_ name: DNSName) -> ZoneNode {
        let cname = rrsets.rrset(name, DNSType.cname)
        var chain = [cname]
        var visited: Set<DNSName> = [name]
        var target = cnameTarget(cname)
        var end = ChainEnd.outsideZone
        while let current = target, current.isInside(apex) {
            guard existing.contains(current) else {
                end = .missing
                break
            }
            let next = rrsets.rrset(current, DNSType.cname)
            guard !next.isEmpty else {
                end = .node(current)
                break
            }
            guard chain.count < ZoneSnapshot.maxCNAMEChain, visited.insert(current).inserted else { break }
            chain.append(next)
            target = cnameTarget(next)
        }
        let cnameOnly = answer(name, [cname])
        var types = [DNSType.cname]
        var answers = [cnameOnly]
        let otherTypes: PrecomputedAnswer
        switch end {
        case .outsideZone:
            otherTypes = answer(name, chain)
        case .missing:
            otherTypes = answer(name, chain, authority: [negativeSOA], responseCode: 3)
        case .node(let final):
            for type in rrsets.types(final) {
                types.append(type)
                answers.append(answer(name, chain + [rrsets.rrset(final, type)]))
            }
            otherTypes = answer(name, chain, authority: [negativeSOA])
        }
        return ZoneNode(types: types, answers: answers, otherTypes: otherTypes, anyType: cnameOnly)
    }

    private enum ChainEnd {
        case outsideZone
        case missing
        case node(DNSName)
    }

    private func cnameTarget(_ rrset: [ZoneRecord]) -> DNSName? {
        guard case .cname(let target) = rrset.first?.data else { return nil }
        return target
    }

    private func answer(_ name: DNSName, _ answer: [[ZoneRecord]], authority: [ZoneRecord] = [],
                        responseCode: UInt8 = 0) -> PrecomputedAnswer {
        PrecomputedAnswer(
            responseCode: responseCode, answer: answer, authority: authority,
            questionNameLength: name.wireLength, knownNames: [(name, 12)])
    }
}
