import Foundation
import PyreCore
import PyreManifest
import Testing
@testable import PyreAgent

struct EventStoreURLTests {
    @Test func aBadPostgresURLIsAManifestErrorAtItsLine() throws {
        let yaml = """
            system: shop
            images: { web: { context: ., run: app } }
            services: { web: { image: web } }
            events:
              store: postgres://db.example:5432/pyre
            """
        let spec = try Manifest.parse(yaml, file: "pyre.yml", directory: FileManager.default.temporaryDirectory)
        let error = try #require(throws: PyreError.self) {
            try ApplicationEvents.postgresConfiguration("postgres://db.example:5432/pyre", of: spec)
        }
        #expect(error.code == .manifest)
        #expect(error.description.hasPrefix("pyre.yml:5:10: events.store: the event store URL is not a PostgreSQL URL: "
            + "it names no user"), "\(error.description)")
    }
}
