import Testing
@testable import PyreDNS

@Suite struct ResponderTests {
    let responder: DNSResponder

    init() throws { responder = DNSResponder(zone: try TestZone.make()) }

    private func ask(_ query: QueryBuilder, _ transport: DNSTransport = .udp) throws -> DNSMessage {
        let reply = try #require(responder.respond(to: query.bytes, transport: transport))
        return try DNSMessage(decoding: reply)
    }

    private func answerData(_ message: DNSMessage) -> [DNSMessage.DecodedData] { message.answers.map(\.data) }

    @Test func answersAnAddressQueryAuthoritativelyEchoingTheQuestionsCase() throws {
        let reply = try ask(QueryBuilder(flags: 0x0100, name: "WeB.HeLLo.PyRe."))
        #expect(reply.isResponse && reply.isAuthoritative && !reply.isTruncated)
        #expect(reply.flags & 0x0100 != 0, "RD is copied")
        #expect(reply.responseCode == DNSResponseCode.noError)
        #expect(reply.questions.first?.name == "WeB.HeLLo.PyRe.")
        #expect(reply.answers.map(\.name) == ["WeB.HeLLo.PyRe.", "WeB.HeLLo.PyRe."])
        #expect(answerData(reply) == [.record(.a("10.0.0.1")), .record(.a("10.0.0.2"))])
        #expect(reply.authority.isEmpty && reply.additional.isEmpty)
    }

    @Test func answersSRVAAAAMXAndTheDeployTXT() throws {
        #expect(answerData(try ask(QueryBuilder(name: "_web._tcp.hello.pyre.", type: DNSType.srv)))
            == [.record(.srv(priority: 0, weight: 0, port: 8080, target: "web.hello.pyre."))])
        #expect(answerData(try ask(QueryBuilder(type: DNSType.aaaa))) == [.record(.aaaa("fd00::1"))])
        #expect(answerData(try ask(QueryBuilder(name: "mail.hello.pyre.", type: DNSType.mx)))
            == [.record(.mx(preference: 10, exchange: "web.hello.pyre."))])
        #expect(answerData(try ask(QueryBuilder(name: "_deploy.hello.pyre.", type: DNSType.txt))) == [.record(.txt(["12"]))])
    }

    @Test func servesSOAAndNSAtTheApex() throws {
        let soa = try ask(QueryBuilder(name: "hello.pyre.", type: DNSType.soa))
        #expect(answerData(soa) == [.soa(nameServer: "ns.hello.pyre.", hostmaster: "hostmaster.hello.pyre.", serial: 7,
                                         refresh: 3600, retry: 600, expire: 86400, minimum: 5)])
        #expect(answerData(try ask(QueryBuilder(name: "hello.pyre.", type: DNSType.ns))) == [.record(.ns("ns.hello.pyre."))])
    }

    @Test func missingNameIsNXDOMAINWithTheSOA() throws {
        for name in ["nope.hello.pyre.", "x.nope.hello.pyre.", "a.b.c.d.e.f.g.nope.hello.pyre."] {
            let reply = try ask(QueryBuilder(name: name))
            #expect(reply.responseCode == DNSResponseCode.nameError, "\(name)")
            #expect(reply.isAuthoritative && reply.answers.isEmpty)
            #expect(reply.authority.map(\.type) == [DNSType.soa])
            #expect(reply.authority.first?.name == "hello.pyre.")
        }
    }

    @Test func missingTypeAndEmptyNonTerminalAreNODATAWithTheSOA() throws {
        for query in [QueryBuilder(name: "web.hello.pyre.", type: DNSType.txt), QueryBuilder(name: "b.c.hello.pyre."),
                      QueryBuilder(name: "c.hello.pyre.", type: DNSType.txt)] {
            let reply = try ask(query)
            #expect(reply.responseCode == DNSResponseCode.noError && reply.isAuthoritative, "\(query.name)")
            #expect(reply.answers.isEmpty)
            #expect(reply.authority.map(\.type) == [DNSType.soa])
        }
    }

    @Test func refusesNamesOutsideTheZoneWithoutAA() throws {
        for name in ["example.com.", "pyre.", ".", "hello.pyre.example.", "xhello.pyre."] {
            let reply = try ask(QueryBuilder(flags: 0x0100, name: name))
            #expect(reply.responseCode == DNSResponseCode.refused, "\(name)")
            #expect(!reply.isAuthoritative && reply.answers.isEmpty && reply.authority.isEmpty)
            #expect(reply.questions.count == 1)
        }
    }

    @Test func refusesOtherClassesAndZoneTransfers() throws {
        #expect(try ask(QueryBuilder(questionClass: 3)).responseCode == DNSResponseCode.refused)
        #expect(try ask(QueryBuilder(name: "hello.pyre.", type: DNSType.axfr)).responseCode == DNSResponseCode.notImplemented)
        #expect(try ask(QueryBuilder(name: "hello.pyre.", type: DNSType.axfr), .tcp).responseCode == DNSResponseCode.refused)
        #expect(try ask(QueryBuilder(name: "hello.pyre.", type: DNSType.ixfr)).responseCode == DNSResponseCode.refused)
    }

    @Test func otherOpcodesAreNOTIMPHeaderOnly() throws {
        for opcode: UInt16 in [1, 2, 3, 4, 5, 15] {
            let reply = try ask(QueryBuilder(flags: opcode << 11))
            #expect(reply.responseCode == DNSResponseCode.notImplemented)
            #expect(reply.opcode == UInt8(opcode))
            #expect(reply.questions.isEmpty)
        }
    }

    @Test func malformedQueriesGetFORMERROrAreDropped() throws {
        let formatErrors: [[UInt8]] = [
            QueryBuilder(questionCount: 0).bytes.prefix(12).map { $0 },
            QueryBuilder(questionCount: 2).bytes,
            QueryBuilder(answerCount: 1).bytes,
            QueryBuilder(authorityCount: 1).bytes,
            QueryBuilder(flags: 0x0002).bytes,
            Array(QueryBuilder().bytes.dropLast(2)),
            be(1) + be(0) + be(1) + be(0) + be(0) + be(0) + [0xC0, 0x0C, 0, 1, 0, 1],
            be(1) + be(0) + be(1) + be(0) + be(0) + be(0) + [64] + Array(repeating: 0x61, count: 64) + [0, 0, 1, 0, 1],
            QueryBuilder(extraAdditional: [wireName("x.") + be(1) + be(1) + [0, 0, 0, 0] + be(4) + [1, 2, 3, 4]]).bytes,
            QueryBuilder(edns: (0, 1232, 0, be(65000) + be(9) + [1, 2])).bytes,
        ]
        for query in formatErrors {
            let reply = try DNSMessage(decoding: try #require(responder.respond(to: query, transport: .udp)))
            #expect(reply.responseCode == DNSResponseCode.formatError, "\(query)")
            #expect(reply.questions.isEmpty && reply.answers.isEmpty)
        }
        var twoOPTs = QueryBuilder(edns: (0, 1232, 0, []))
        twoOPTs.extraAdditional = [[0] + be(DNSType.opt) + be(512) + [0, 0, 0, 0] + be(0)]
        #expect(try ask(twoOPTs).responseCode == DNSResponseCode.formatError)

        #expect(responder.respond(to: QueryBuilder(flags: 0x8000).bytes, transport: .udp) == nil, "QR set")
        #expect(responder.respond(to: [0x12, 0x34, 0], transport: .udp) == nil, "no header")
        #expect(responder.respond(to: [], transport: .tcp) == nil)
    }

    @Test func answersWithOPTWhenTheQueryHasEDNSIgnoringUnknownOptions() throws {
        let reply = try ask(QueryBuilder(edns: (0, 4096, 0x8000, be(65001) + be(2) + [7, 7])))
        #expect(reply.responseCode == DNSResponseCode.noError && reply.answers.count == 2)
        let opt = try #require(reply.opt)
        #expect(opt.recordClass == 1232)
        #expect(opt.ttl == 0x0000_8000, "version 0, DO echoed")
        #expect(try ask(QueryBuilder()).opt == nil)
    }

    @Test func higherEDNSVersionIsBADVERS() throws {
        let reply = try ask(QueryBuilder(edns: (1, 1232, 0, [])))
        #expect(reply.responseCode == DNSResponseCode.badVersion)
        #expect(reply.opt?.ttl == 0x0100_0000)
        #expect(reply.answers.isEmpty && !reply.isAuthoritative)
    }

    @Test func answersThatDoNotFitSetTCAndAreCompleteOverTCP() throws {
        let big = QueryBuilder(name: "big.hello.pyre.", type: DNSType.txt)
        let udp = try ask(big)
        #expect(udp.isTruncated && udp.answers.isEmpty)
        var withEDNS = big
        withEDNS.edns = (0, 4096, 0, [])
        let capped = try ask(withEDNS)
        #expect(capped.isTruncated, "1232 bytes at most over UDP")
        #expect(capped.opt != nil)
        let tcp = try ask(big, .tcp)
        #expect(!tcp.isTruncated && tcp.answers.count == 40)

        let exactlyFull = try ask(QueryBuilder(name: "mid.hello.pyre."))
        #expect(!exactlyFull.isTruncated && exactlyFull.answers.count == 30)
        let chain = try ask(QueryBuilder(name: "chain.hello.pyre.", type: DNSType.txt))
        #expect(chain.isTruncated && chain.answers.map(\.type) == [DNSType.cname], "whole RRsets that fit are kept")
    }

    @Test func smallAdvertisedSizesMeanFiveHundredTwelve() throws {
        let reply = try ask(QueryBuilder(name: "mid.hello.pyre.", edns: (0, 100, 0, [])))
        #expect(reply.isTruncated, "512 + OPT does not fit 30 A records")
        #expect(try ask(QueryBuilder(edns: (0, 100, 0, []))).answers.count == 2)
    }

    @Test func followsCNAMEChainsInsideTheZone() throws {
        let chain = try ask(QueryBuilder(name: "c1.hello.pyre."))
        #expect(chain.answers.map(\.type) == [DNSType.cname, DNSType.cname, DNSType.a, DNSType.a])
        #expect(chain.answers.map(\.name) == ["c1.hello.pyre.", "c2.hello.pyre.", "web.hello.pyre.", "web.hello.pyre."])
        let cnameItself = try ask(QueryBuilder(name: "www.hello.pyre.", type: DNSType.cname))
        #expect(answerData(cnameItself) == [.record(.cname("web.hello.pyre."))])
        let noData = try ask(QueryBuilder(name: "www.hello.pyre.", type: DNSType.mx))
        #expect(noData.answers.map(\.type) == [DNSType.cname] && noData.authority.map(\.type) == [DNSType.soa])
        let dangling = try ask(QueryBuilder(name: "dangle.hello.pyre."))
        #expect(dangling.responseCode == DNSResponseCode.nameError && dangling.answers.count == 1)
        let outside = try ask(QueryBuilder(name: "out.hello.pyre."))
        #expect(outside.responseCode == DNSResponseCode.noError && answerData(outside) == [.record(.cname("example.com."))])
    }

    @Test func answersANYWithOneRRset() throws {
        #expect(try ask(QueryBuilder(type: DNSType.any)).answers.map(\.type) == [DNSType.a, DNSType.a])
        #expect(try ask(QueryBuilder(name: "hello.pyre.", type: DNSType.any)).answers.map(\.type) == [DNSType.soa])
        #expect(try ask(QueryBuilder(name: "www.hello.pyre.", type: DNSType.any)).answers.map(\.type) == [DNSType.cname])
        let ent = try ask(QueryBuilder(name: "b.c.hello.pyre.", type: DNSType.any))
        #expect(ent.answers.isEmpty && ent.authority.map(\.type) == [DNSType.soa])
    }

    @Test func compressesNamesInReplies() throws {
        let reply = try #require(responder.respond(to: QueryBuilder(name: "mail.hello.pyre.", type: DNSType.mx).bytes,
                                                  transport: .udp))
        // header 12 + question 21 + owner pointer 2 + type/class/ttl/length 10 + MX 2 + "web" and a pointer 6.
        #expect(reply.count == 12 + 21 + 2 + 10 + 2 + 6)
        let negative = try #require(responder.respond(to: QueryBuilder(name: "NO.x.hello.pyre.").bytes, transport: .udp))
        // The SOA owner, name server and hostmaster all point into the question.
        #expect(negative.count == 12 + 21 + 2 + 10 + (5 + 13 + 20))
    }

    @Test func negativeAnswersCarryTheSOAMinimumAsTTL() throws {
        let zone = try DNSZone(apex: "hello.pyre.", serial: 1, nameServer: "ns.hello.pyre.", hostmaster: "h.hello.pyre.",
                               soaTTL: 60, negativeTTL: 3, records: [])
        let reply = try DNSMessage(decoding: try #require(
            DNSResponder(zone: zone).respond(to: QueryBuilder(name: "x.hello.pyre.").bytes, transport: .udp)))
        #expect(reply.authority.first?.ttl == 3)
    }
}
