import PyreTesting
import Testing
@testable import PyreDNS

/// What dig printed for one query.
struct DigReply {
    var status = ""
    var flags: Set<String> = []
    var answers: [[String]] = []
    var authority: [[String]] = []
    var hasOPT = false
    var output = ""

    init(_ output: String) {
        self.output = output
        var section = ""
        for line in output.split(separator: "\n").map(String.init) {
            if line.hasPrefix(";; ->>HEADER<<-"), let range = line.range(of: "status: ") {
                status = String(line[range.upperBound...].prefix { $0 != "," })
            } else if line.hasPrefix(";; flags:") {
                let flagText = line.dropFirst(";; flags:".count).prefix { $0 != ";" }
                flags = Set(flagText.split(separator: " ").map(String.init))
            } else if line.hasPrefix(";; OPT PSEUDOSECTION") {
                hasOPT = true
            } else if line.hasPrefix(";; ") && line.hasSuffix("SECTION:") {
                section = line
            } else if line.isEmpty || line.hasPrefix(";") {
                continue
            } else if section.contains("ANSWER") {
                answers.append(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
            } else if section.contains("AUTHORITY") {
                authority.append(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
            }
        }
    }
}

func dig(port: Int, _ arguments: [String]) throws -> DigReply {
    let digPath = try #require(ExternalTool.path("dig"))
    let result = try ExternalTool.run(
        digPath, ["@127.0.0.1", "-p", "\(port)", "+norec", "+time=2", "+tries=1"] + arguments)
    return DigReply(result.output)
}

@Suite(.enabled(if: ExternalTool.path("dig") != nil, "dig is not installed (apt-get install bind9-dnsutils)"))
struct DigTests {
    @Test func answersOverUDPWithTheQuestionsCase() async throws {
        try await withTestServer { _, port in
            let reply = try dig(port: port, ["WeB.HeLLo.pyre", "A"])
            #expect(reply.status == "NOERROR", "\(reply.output)")
            #expect(reply.flags == ["qr", "aa"])
            #expect(reply.answers.map { $0[0] } == ["WeB.HeLLo.pyre.", "WeB.HeLLo.pyre."])
            #expect(Set(reply.answers.map { $0[4] }) == ["10.0.0.1", "10.0.0.2"])
            #expect(reply.hasOPT)
        }
    }

    @Test func answersOverTCPAndSeveralQueriesOnOneConnection() async throws {
        try await withTestServer { _, port in
            let big = try dig(port: port, ["+tcp", "big.hello.pyre", "TXT"])
            #expect(big.answers.count == 40 && !big.flags.contains("tc"), "\(big.output)")
            let keepOpen = try dig(port: port, ["+tcp", "+keepopen", "web.hello.pyre", "A", "_web._tcp.hello.pyre", "SRV",
                                                "nope.hello.pyre", "A"])
            #expect(keepOpen.output.components(separatedBy: "status: NOERROR").count == 3, "\(keepOpen.output)")
            #expect(keepOpen.output.contains("status: NXDOMAIN"))
            #expect(keepOpen.output.contains("0 0 8080 web.hello.pyre."))
        }
    }

    @Test func truncatesOverUDPWithoutEDNS() async throws {
        try await withTestServer { _, port in
            let reply = try dig(port: port, ["+noedns", "+ignore", "big.hello.pyre", "TXT"])
            #expect(reply.flags.contains("tc") && reply.answers.isEmpty, "\(reply.output)")
            #expect(!reply.hasOPT)
            let retried = try dig(port: port, ["+noedns", "big.hello.pyre", "TXT"])
            #expect(retried.answers.count == 40, "dig retries over TCP: \(retried.output)")
        }
    }

    @Test func negativeAnswersCarryTheSOA() async throws {
        try await withTestServer { _, port in
            for (name, type, status) in [("nope.hello.pyre", "A", "NXDOMAIN"), ("x.nope.hello.pyre", "A", "NXDOMAIN"),
                                         ("web.hello.pyre", "MX", "NOERROR"), ("b.c.hello.pyre", "A", "NOERROR")] {
                let reply = try dig(port: port, [name, type])
                #expect(reply.status == status && reply.flags.contains("aa"), "\(reply.output)")
                #expect(reply.answers.isEmpty && reply.authority.first?[3] == "SOA", "\(reply.output)")
            }
        }
    }

    @Test func refusesOutsideTheZoneAndOtherOpcodes() async throws {
        try await withTestServer { _, port in
            let outside = try dig(port: port, ["example.com", "A"])
            #expect(outside.status == "REFUSED" && !outside.flags.contains("aa"), "\(outside.output)")
            let status = try dig(port: port, ["+opcode=2", "web.hello.pyre", "A"])
            #expect(status.status == "NOTIMP", "\(status.output)")
        }
    }

    @Test func handlesEDNSVersionsSizesAndUnknownOptions() async throws {
        try await withTestServer { _, port in
            #expect(try dig(port: port, ["+edns=1", "+noednsnegotiation", "web.hello.pyre"]).status == "BADVERS")
            let unknownOption = try dig(port: port, ["+ednsopt=65001:abcd", "web.hello.pyre"])
            #expect(unknownOption.status == "NOERROR" && unknownOption.answers.count == 2, "\(unknownOption.output)")
            let large = try dig(port: port, ["+bufsize=4096", "+ignore", "mid.hello.pyre"])
            #expect(large.answers.count == 30 && !large.flags.contains("tc"), "\(large.output)")
        }
    }

    @Test func answersANYMinimally() async throws {
        try await withTestServer { _, port in
            let reply = try dig(port: port, ["web.hello.pyre", "ANY"])
            #expect(reply.status == "NOERROR" && Set(reply.answers.map { $0[3] }) == ["A"], "\(reply.output)")
        }
    }
}
