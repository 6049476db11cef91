import Testing
@testable import PyreDNS

@Suite struct ZoneTests {
    private func zoneError(_ records: [DNSRecord], apex: String = "hello.pyre.") -> String? {
        do {
            _ = try DNSZone(apex: apex, serial: 1, nameServer: "ns.hello.pyre.", hostmaster: "h.hello.pyre.", records: records)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func rejectsInvalidRecordsSayingWhichAndWhatToFix() {
        let cases: [(DNSRecord, String)] = [
            (DNSRecord(name: "web.other.pyre.", ttl: 5, data: .a("10.0.0.1")), "outside the zone"),
            (DNSRecord(name: String(repeating: "a", count: 64) + ".hello.pyre.", ttl: 5, data: .a("10.0.0.1")), "longer than 63"),
            (DNSRecord(name: Array(repeating: "abcdefghij", count: 25).joined(separator: ".") + ".hello.pyre.", ttl: 5,
                       data: .a("10.0.0.1")), "longer than 255"),
            (DNSRecord(name: "web..hello.pyre.", ttl: 5, data: .a("10.0.0.1")), "empty label"),
            (DNSRecord(name: "*.hello.pyre.", ttl: 5, data: .a("10.0.0.1")), "contains \"*\""),
            (DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .a("10.0.0")), "not an IPv4 address"),
            (DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .aaaa("fd00::g")), "not an IPv6 address"),
            (DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .cname("bad name.")), "target is not a valid name"),
            (DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .txt([])), "at least one string"),
            (DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .txt([String(repeating: "x", count: 256)])), "at most 255"),
            (DNSRecord(name: "sub.hello.pyre.", ttl: 5, data: .ns("ns.example.")), "delegations are not supported"),
            (DNSRecord(name: "hello.pyre.", ttl: 5, data: .cname("web.hello.pyre.")), "a CNAME and other records"),
        ]
        for (record, message) in cases {
            let error = zoneError([record])
            #expect(error?.contains(message) == true, "\(record): \(error ?? "accepted")")
            #expect(error?.contains(record.data.typeName) == true)
        }
        let mixed = zoneError([DNSRecord(name: "www.hello.pyre.", ttl: 5, data: .cname("web.hello.pyre.")),
                               DNSRecord(name: "WWW.hello.pyre.", ttl: 5, data: .a("10.0.0.1"))])
        #expect(mixed?.contains("www.hello.pyre. has a CNAME and other records") == true)
        #expect(zoneError([], apex: "bad apex.")?.contains("apex") == true)
    }

    @Test func acceptsNamesInAnyCaseAndWithoutTheTrailingDot() throws {
        let zone = try DNSZone(apex: "Hello.Pyre", serial: 3, nameServer: "ns.hello.pyre", hostmaster: "admin@hello.pyre",
                               records: [DNSRecord(name: "WEB.hello.pyre", ttl: 5, data: .a("10.0.0.1"))])
        #expect(zone.apex == "hello.pyre.")
        #expect(zone.serial == 3)
        #expect(zone.zoneFileText().contains("admin.hello.pyre."))
    }

    @Test func zoneFileTextStartsWithTheSOAAndListsEveryRecord() throws {
        let text = try DNSZone(apex: "hello.pyre.", serial: 9, nameServer: "ns.hello.pyre.", hostmaster: "h.hello.pyre.",
                               soaTTL: 30, negativeTTL: 4, records: [
                                   DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .aaaa("FD00:0::1")),
                                   DNSRecord(name: "t.hello.pyre.", ttl: 5, data: .txt(["a \"quoted\" \\ word", "é"])),
                                   DNSRecord(name: "_w._tcp.hello.pyre.", ttl: 5,
                                             data: .srv(priority: 1, weight: 2, port: 80, target: "web.hello.pyre.")),
                               ]).zoneFileText()
        let lines = text.split(separator: "\n")
        #expect(lines.first == "$ORIGIN hello.pyre.")
        #expect(lines.dropFirst().first == "hello.pyre.\t30\tIN\tSOA\tns.hello.pyre. h.hello.pyre. 9 3600 600 86400 4")
        #expect(lines.contains("hello.pyre.\t30\tIN\tNS\tns.hello.pyre."))
        #expect(lines.contains("web.hello.pyre.\t5\tIN\tAAAA\tfd00::1"))
        #expect(lines.contains("t.hello.pyre.\t5\tIN\tTXT\t\"a \\\"quoted\\\" \\\\ word\" \"\\195\\169\""))
        #expect(lines.contains("_w._tcp.hello.pyre.\t5\tIN\tSRV\t1 2 80 web.hello.pyre."))
    }

    @Test func updateSwapsTheWholeZone() throws {
        let server = DNSServer(zone: try TestZone.make(serial: 1), logger: .init(label: "test"))
        let next = try TestZone.make(serial: 2, records: [DNSRecord(name: "new.hello.pyre.", ttl: 5, data: .a("10.9.9.9"))])
        server.update(next)
        #expect(server.zone.serial == 2)
        let responder = DNSResponder(zone: server.zone)
        let reply = try DNSMessage(decoding: try #require(
            responder.respond(to: QueryBuilder(name: "web.hello.pyre.").bytes, transport: .udp)))
        #expect(reply.responseCode == DNSResponseCode.nameError)
        guard case .soa(_, _, let serial, _, _, _, _) = reply.authority.first?.data else {
            Issue.record("no SOA")
            return
        }
        #expect(serial == 2)
    }
}

@Suite struct DecoderTests {
    private let header: [UInt8] = be(1) + be(0x8000) + be(0) + be(1) + be(0) + be(0)

    @Test func rejectsPointerLoopsAndForwardPointers() {
        let selfLoop = header + [0xC0, 12] + be(1) + be(1) + [0, 0, 0, 5] + be(0)
        #expect(throws: DNSDecodingError.badPointer) { try DNSMessage(decoding: selfLoop) }
        let forward = header + [0xC0, 14, 0] + be(1) + be(1) + [0, 0, 0, 5] + be(0)
        #expect(throws: DNSDecodingError.badPointer) { try DNSMessage(decoding: forward) }
    }

    @Test func rejectsTruncationLongNamesAndReservedLabelTypes() {
        #expect(throws: DNSDecodingError.truncated) { try DNSMessage(decoding: [1, 2, 3]) }
        #expect(throws: DNSDecodingError.truncated) { try DNSMessage(decoding: header + [3, 0x61]) }
        #expect(throws: DNSDecodingError.badLabelType) { try DNSMessage(decoding: header + [0x40, 0]) }
        let long = header + Array(repeating: [63] + Array(repeating: UInt8(0x61), count: 63), count: 5).flatMap { $0 } + [0]
        #expect(throws: DNSDecodingError.nameTooLong) { try DNSMessage(decoding: long) }
        let shortData = header + [0] + be(DNSType.mx) + be(1) + [0, 0, 0, 5] + be(2) + [0, 1, 0]
        #expect(throws: DNSDecodingError.badRecordData(type: DNSType.mx)) { try DNSMessage(decoding: shortData) }
    }

    @Test func decompressesBackwardPointers() throws {
        let message = header + wireName("web.hello.pyre.") + be(DNSType.cname) + be(1) + [0, 0, 0, 5] + be(6)
            + [3, 0x77, 0x77, 0x77, 0xC0, 16]
        let decoded = try DNSMessage(decoding: message)
        #expect(decoded.answers.first?.data == .record(.cname("www.hello.pyre.")))
    }
}
