import Foundation
import Logging
import PyreCore
import PyreManifest
import PyreDNS
import PyreTesting
import Testing
@testable import PyreAgent

/// A TXT record's character-strings, from pyre.yml to the zone file and to the wire.
@Suite(.enabled(if: ExternalTool.path("dig") != nil, "dig is not installed (apt-get install bind9-dnsutils)"))
struct TXTRecordTests {
    private static let manifest = """
        system: shop
        images: { web: { context: ., run: app } }
        services: { web: { image: web } }
        dns:
          records:
            - { name: two, type: TXT, value: '"v=spf1 -all" "with \\"quote\\""' }
            - { name: list, type: TXT, value: [a b, c] }
            - { name: one, type: TXT, value: plain text }
        """

    @Test func keepsCharacterStringsAsGiven() async throws {
        let directory = FileManager.default.temporaryDirectory
        let spec = try Manifest.parse(Self.manifest, file: "pyre.yml", directory: directory)
        let zone = SystemZone(zone: "shop.pyre.", ttl: 5, systemAddress: "127.0.0.1", servers: [], published: [],
                              deployment: 1, staticRecords: spec.dns.records)
        let snapshot = try zone.snapshot(serial: 1)
        #expect(snapshot.zoneFileText().contains(#""v=spf1 -all" "with \"quote\"""#), "\(snapshot.zoneFileText())")

        let server = DNSServer(zone: snapshot, logger: Logger(label: "pyre.dns.test"))
        let port = try await server.start(host: "127.0.0.1", port: 0)
        let answers = Result { try ["two", "list", "one"].map { try dig(port, "\($0).shop.pyre.") } }
        await server.stop()
        #expect(try answers.get() == [#""v=spf1 -all" "with \"quote\"""#, #""a b" "c""#, #""plain text""#])
    }

    @Test func refusesAnUnclosedQuote() throws {
        let yaml = Self.manifest.replacingOccurrences(of: "plain text", with: #"'"open'"#)
        let error = try #require(throws: PyreError.self) {
            try Manifest.parse(yaml, file: "pyre.yml", directory: FileManager.default.temporaryDirectory)
        }
        #expect(error.location == SourceLocation(file: "pyre.yml", line: 8, column: 38))
        #expect(error.field == "dns.records[2].value")
    }

    private func dig(_ port: Int, _ name: String) throws -> String {
        let result = try ExternalTool.run(try #require(ExternalTool.path("dig")),
                                          ["@127.0.0.1", "-p", "\(port)", "+norec", "+time=2", "+tries=1", "+short", name, "TXT"])
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
