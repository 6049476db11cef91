import PyreTesting
import Logging
import Testing
@testable import PyreDNS

/// The parts of a reply both servers must agree on.
struct ReplySummary: Equatable, CustomStringConvertible {
    var dropped = false
    var responseCode: UInt16 = 0
    var authoritative = false
    var truncated = false
    var answers: [String] = []
    var negativeHasSOA = false

    init(_ reply: [UInt8]?) throws {
        guard let reply else {
            dropped = true
            return
        }
        let message = try DNSMessage(decoding: reply)
        responseCode = message.responseCode
        authoritative = message.isAuthoritative
        truncated = message.isTruncated
        answers = message.answers.map { "\($0.name.lowercased()) \($0.ttl) \($0.type) \($0.data)".lowercased() }.sorted()
        let negative = responseCode == DNSResponseCode.nameError
            || (responseCode == DNSResponseCode.noError && message.answers.allSatisfy { $0.type == DNSType.cname })
        negativeHasSOA = negative && message.authority.contains { $0.type == DNSType.soa }
    }

    var description: String {
        dropped ? "dropped" : "rcode \(responseCode) aa \(authoritative) tc \(truncated) soa \(negativeHasSOA) \(answers)"
    }
}

struct DifferentialCase {
    var label: String
    var query: [UInt8]
    var transport: DNSTransport = .udp

    /// Every behaviour of docs/dns.md that NSD shares; NOTIFY and class ANY are left out
    /// because Pyre answers them NOTIMP and REFUSED on purpose.
    static var all: [DifferentialCase] {
        var cases: [DifferentialCase] = []
        let lookups: [(String, UInt16)] = [
            ("web.hello.pyre.", DNSType.a), ("WEB.HeLLo.PYRE.", DNSType.a), ("web.hello.pyre.", DNSType.aaaa),
            ("web.hello.pyre.", DNSType.mx), ("web-1-ab12.hello.pyre.", DNSType.a), ("_web._tcp.hello.pyre.", DNSType.srv),
            ("events.hello.pyre.", DNSType.a), ("logs.hello.pyre.", DNSType.a), ("dns.hello.pyre.", DNSType.a),
            ("_deploy.hello.pyre.", DNSType.txt), ("hello.pyre.", DNSType.soa), ("hello.pyre.", DNSType.ns),
            ("hello.pyre.", DNSType.txt), ("hello.pyre.", DNSType.mx), ("ns.hello.pyre.", DNSType.a),
            ("mail.hello.pyre.", DNSType.mx), ("nope.hello.pyre.", DNSType.a), ("x.nope.hello.pyre.", DNSType.a),
            ("b.c.hello.pyre.", DNSType.a), ("c.hello.pyre.", DNSType.txt), ("a.b.c.hello.pyre.", DNSType.txt),
            ("www.hello.pyre.", DNSType.a), ("www.hello.pyre.", DNSType.cname), ("www.hello.pyre.", DNSType.mx),
            ("c1.hello.pyre.", DNSType.a), ("c1.hello.pyre.", DNSType.aaaa), ("dangle.hello.pyre.", DNSType.a),
            ("out.hello.pyre.", DNSType.a), ("example.com.", DNSType.a), ("pyre.", DNSType.soa), (".", DNSType.ns),
            ("xhello.pyre.", DNSType.a), ("web.hello.pyre.", DNSType.any), ("hello.pyre.", DNSType.any),
            ("www.hello.pyre.", DNSType.any), ("b.c.hello.pyre.", DNSType.any), ("big.hello.pyre.", DNSType.txt),
            ("mid.hello.pyre.", DNSType.a), ("chain.hello.pyre.", DNSType.txt), ("web.hello.pyre.", 0),
            ("hello.pyre.", DNSType.ixfr),
        ]
        for (name, type) in lookups {
            for transport in [DNSTransport.udp, .tcp] {
                cases.append(DifferentialCase(label: "\(name) \(type) \(transport)",
                                              query: QueryBuilder(name: name, type: type).bytes, transport: transport))
                cases.append(DifferentialCase(label: "\(name) \(type) EDNS \(transport)",
                                              query: QueryBuilder(name: name, type: type, edns: (0, 4096, 0, [])).bytes,
                                              transport: transport))
            }
        }
        let header: [UInt8] = be(7) + be(0)
        cases += [
            ("recursion desired", QueryBuilder(flags: 0x0100).bytes),
            ("small EDNS size", QueryBuilder(name: "mid.hello.pyre.", edns: (0, 100, 0, [])).bytes),
            ("DO bit", QueryBuilder(edns: (0, 1232, 0x8000, [])).bytes),
            ("EDNS version 1", QueryBuilder(edns: (1, 1232, 0, [])).bytes),
            ("unknown EDNS option", QueryBuilder(edns: (0, 1232, 0, be(65001) + be(2) + [1, 2])).bytes),
            ("EDNS option overruns", QueryBuilder(edns: (0, 1232, 0, be(65001) + be(9) + [1, 2])).bytes),
            ("two OPT records", QueryBuilder(edns: (0, 1232, 0, []),
                                             extraAdditional: [[0] + be(DNSType.opt) + be(512) + [0, 0, 0, 0] + be(0)]).bytes),
            ("truncated OPT", Array(QueryBuilder(edns: (0, 1232, 0, [])).bytes.dropLast(3))),
            ("non-OPT additional", QueryBuilder(extraAdditional: [wireName("x.") + be(1) + be(1) + [0, 0, 0, 0] + be(4)
                                                                   + [1, 2, 3, 4]]).bytes),
            ("QR set", QueryBuilder(flags: 0x8000).bytes),
            ("no header", [0x12, 0x34, 0]),
            ("header only", header + be(0) + be(0) + be(0) + be(0)),
            ("QDCOUNT 0", QueryBuilder(questionCount: 0).bytes),
            ("QDCOUNT 2", QueryBuilder(questionCount: 2).bytes),
            ("ANCOUNT 1", QueryBuilder(answerCount: 1).bytes),
            ("NSCOUNT 1", QueryBuilder(authorityCount: 1).bytes),
            ("RCODE set", QueryBuilder(flags: 0x0003).bytes),
            ("TC set in query", QueryBuilder(flags: 0x0200).bytes),
            ("truncated question", Array(QueryBuilder().bytes.dropLast(2))),
            ("pointer in question", header + be(1) + be(0) + be(0) + be(0) + [0xC0, 0x0C, 0, 1, 0, 1]),
            ("pointer loop", header + be(1) + be(0) + be(0) + be(0) + [0xC0, 0x0C]),
            ("64-byte label", header + be(1) + be(0) + be(0) + be(0) + [64] + Array(repeating: 0x61, count: 64) + [0, 0, 1, 0, 1]),
            ("opcode IQUERY", QueryBuilder(flags: 1 << 11).bytes),
            ("opcode STATUS", QueryBuilder(flags: 2 << 11).bytes),
            ("opcode UPDATE", QueryBuilder(flags: 5 << 11).bytes),
            ("class CH", QueryBuilder(questionClass: 3).bytes),
            ("AXFR over UDP", QueryBuilder(name: "hello.pyre.", type: DNSType.axfr).bytes),
            ("trailing garbage", QueryBuilder().bytes + [1, 2, 3]),
        ].map { DifferentialCase(label: $0.0, query: $0.1) }
        cases.append(DifferentialCase(label: "AXFR over TCP", query: QueryBuilder(name: "hello.pyre.", type: DNSType.axfr).bytes,
                                      transport: .tcp))
        return cases
    }
}

@Suite(.enabled(if: ExternalTool.path("nsd") != nil, "nsd is not installed (apt-get install nsd)"))
struct NSDDifferentialTests {
    private func send(_ testCase: DifferentialCase, port: Int) throws -> [UInt8]? {
        switch testCase.transport {
        case .udp: try LoopbackClient.udp(testCase.query, port: port, timeoutSeconds: 1)
        case .tcp: try LoopbackClient.tcp([testCase.query], port: port).first ?? nil
        }
    }

    @Test func pyreAnswersEveryCaseAsNSDDoes() async throws {
        let zone = try TestZone.make()
        let nsd = try await NSDInstance.start(zone)
        defer { nsd.stop() }
        let nsdPort = nsd.port
        try await withTestServer(zone: zone) { _, port in
            for testCase in DifferentialCase.all {
                let pyre = try ReplySummary(try send(testCase, port: port))
                let reference = try ReplySummary(try send(testCase, port: nsdPort))
                #expect(pyre == reference, "\(testCase.label): Pyre \(pyre) NSD \(reference)")
            }
        }
    }
}
