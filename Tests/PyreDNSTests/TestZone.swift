@testable import PyreDNS

/// The records every test serves: services, servers, SRV, identity names, CNAME chains and
/// RRsets too big for 512 bytes.
enum TestZone {
    static let apex = "hello.pyre."

    static let records: [DNSRecord] = {
        var records = [
            DNSRecord(name: "ns.hello.pyre.", ttl: 5, data: .a("127.0.0.1")),
            DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .a("10.0.0.1")),
            DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .a("10.0.0.2")),
            DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .aaaa("fd00::1")),
            DNSRecord(name: "web-1-ab12.hello.pyre.", ttl: 5, data: .a("10.0.0.1")),
            DNSRecord(name: "web-1-cd34.hello.pyre.", ttl: 5, data: .a("10.0.0.2")),
            DNSRecord(name: "_web._tcp.hello.pyre.", ttl: 5,
                      data: .srv(priority: 0, weight: 0, port: 8080, target: "web.hello.pyre.")),
            DNSRecord(name: "events.hello.pyre.", ttl: 5, data: .a("127.0.0.1")),
            DNSRecord(name: "logs.hello.pyre.", ttl: 5, data: .a("127.0.0.1")),
            DNSRecord(name: "dns.hello.pyre.", ttl: 5, data: .a("127.0.0.1")),
            DNSRecord(name: "_deploy.hello.pyre.", ttl: 5, data: .txt(["12"])),
            DNSRecord(name: "a.b.c.hello.pyre.", ttl: 5, data: .txt(["deep"])),
            DNSRecord(name: "www.hello.pyre.", ttl: 5, data: .cname("web.hello.pyre.")),
            DNSRecord(name: "out.hello.pyre.", ttl: 5, data: .cname("example.com.")),
            DNSRecord(name: "dangle.hello.pyre.", ttl: 5, data: .cname("nothere.hello.pyre.")),
            DNSRecord(name: "c1.hello.pyre.", ttl: 5, data: .cname("c2.hello.pyre.")),
            DNSRecord(name: "c2.hello.pyre.", ttl: 5, data: .cname("web.hello.pyre.")),
            DNSRecord(name: "chain.hello.pyre.", ttl: 5, data: .cname("big.hello.pyre.")),
            DNSRecord(name: "mail.hello.pyre.", ttl: 5, data: .mx(preference: 10, exchange: "web.hello.pyre.")),
            DNSRecord(name: "hello.pyre.", ttl: 5, data: .txt(["v=pyre"])),
        ]
        for index in 0..<40 {
            let text = String(repeating: "x", count: 40) + (index < 10 ? "0\(index)" : "\(index)")
            records.append(DNSRecord(name: "big.hello.pyre.", ttl: 5, data: .txt([text])))
        }
        for index in 0..<30 {
            records.append(DNSRecord(name: "mid.hello.pyre.", ttl: 5, data: .a("10.1.0.\(index)")))
        }
        return records
    }()

    static func make(serial: UInt32 = 7, records: [DNSRecord] = records) throws -> DNSZone {
        try DNSZone(apex: apex, serial: serial, nameServer: "ns.hello.pyre.", hostmaster: "hostmaster.hello.pyre.",
                    records: records)
    }
}

/// Builds query packets byte by byte, including malformed ones.
struct QueryBuilder {
    var id: UInt16 = 0x1234
    var flags: UInt16 = 0
    var questionCount: UInt16 = 1
    var answerCount: UInt16 = 0
    var authorityCount: UInt16 = 0
    var name = "web.hello.pyre."
    var type: UInt16 = DNSType.a
    var questionClass: UInt16 = 1
    /// An OPT record (version, payload size, flags, raw options) when set.
    var edns: (version: UInt8, size: UInt16, flags: UInt16, options: [UInt8])?
    var extraAdditional: [[UInt8]] = []

    var bytes: [UInt8] {
        var additional = extraAdditional
        if let edns {
            var opt: [UInt8] = [0]
            opt += be(DNSType.opt) + be(edns.size) + [0, edns.version] + be(edns.flags) + be(UInt16(edns.options.count))
            opt += edns.options
            additional.insert(opt, at: 0)
        }
        var packet = be(id) + be(flags) + be(questionCount) + be(answerCount) + be(authorityCount)
            + be(UInt16(additional.count))
        packet += wireName(name) + be(type) + be(questionClass)
        for record in additional { packet += record }
        return packet
    }
}

func wireName(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    for label in text.split(separator: ".") {
        bytes.append(UInt8(label.utf8.count))
        bytes += Array(label.utf8)
    }
    return bytes + [0]
}

func be(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
