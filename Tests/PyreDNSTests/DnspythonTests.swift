import Foundation
import PyreTesting
import Testing
@testable import PyreDNS

/// dnspython parses every reply strictly; the script fails on the first wrong answer.
private let script = #"""
import sys
import dns.edns, dns.flags, dns.message, dns.query, dns.rcode, dns.rdatatype

port = int(sys.argv[1])

def ask(name, rdtype, tcp=False, **kwargs):
    query = dns.message.make_query(name, rdtype, **kwargs)
    query.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(query, "127.0.0.1", port=port, timeout=3)
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=3)

for tcp in (False, True):
    reply = ask("Web.Hello.Pyre.", "A", tcp)
    assert reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA, reply
    assert sorted(r.address for r in reply.answer[0]) == ["10.0.0.1", "10.0.0.2"], reply
    assert reply.answer[0].name.to_text() == "Web.Hello.Pyre.", reply

    reply = ask("_web._tcp.hello.pyre.", "SRV", tcp)
    assert [(r.port, r.target.to_text()) for r in reply.answer[0]] == [(8080, "web.hello.pyre.")], reply

    reply = ask("_deploy.hello.pyre.", "TXT", tcp)
    assert [r.strings for r in reply.answer[0]] == [(b"12",)], reply

    reply = ask("x.nope.hello.pyre.", "A", tcp)
    assert reply.rcode() == dns.rcode.NXDOMAIN and reply.authority[0].rdtype == dns.rdatatype.SOA, reply

    reply = ask("web.hello.pyre.", "MX", tcp)
    assert reply.rcode() == dns.rcode.NOERROR and not reply.answer and reply.authority[0].rdtype == dns.rdatatype.SOA

    reply = ask("c1.hello.pyre.", "AAAA", tcp)
    assert [rrset.rdtype for rrset in reply.answer] == [dns.rdatatype.CNAME] * 2 + [dns.rdatatype.AAAA], reply

    reply = ask("example.org.", "A", tcp)
    assert reply.rcode() == dns.rcode.REFUSED and not reply.flags & dns.flags.AA, reply

    reply = ask("web.hello.pyre.", "A", tcp, use_edns=0, payload=4096,
                options=[dns.edns.GenericOption(65001, b"xy")])
    assert reply.edns == 0 and reply.payload == 1232, reply

    reply = ask("web.hello.pyre.", "A", tcp, use_edns=1)
    assert reply.rcode() == dns.rcode.BADVERS, reply

truncated = ask("big.hello.pyre.", "TXT", use_edns=False)
assert truncated.flags & dns.flags.TC and not truncated.answer, truncated
complete = ask("big.hello.pyre.", "TXT", True)
assert len(complete.answer[0]) == 40, complete
print("ok")
"""#

@Suite(.enabled(if: ExternalTool.hasDnspython, "dnspython is missing (apt-get install python3-dnspython)"))
struct DnspythonTests {
    @Test func dnspythonAcceptsEveryReplyOverUDPAndTCP() async throws {
        let directory = try TemporaryDirectory(prefix: "pyre-dns")
        defer { directory.remove() }
        let scriptPath = directory.path + "/queries.py"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        try await withTestServer { _, port in
            let result = try ExternalTool.run(try #require(ExternalTool.path("python3")), [scriptPath, "\(port)"])
            #expect(result.status == 0 && result.output.hasSuffix("ok\n"), "\(result.output)")
        }
    }
}
