import Foundation
import Testing
@testable import PyreCore
@testable import PyreManifest

@Suite struct LogsSectionTests {
    @Test func relpPortIsReadAndDefaultsToNil() throws {
        let directory = try ManifestDirectory()
        #expect(try directory.parse(minimalManifest).logs.relpPort == nil)
        #expect(try directory.parse(minimalManifest + "logs: { relp_port: 2514 }\n").logs.relpPort == 2514)
    }

    @Test func aRELPPortOutOfRangeIsAnErrorAtItsLine() throws {
        let directory = try ManifestDirectory()
        #expect {
            try directory.parse(minimalManifest + "logs: { relp_port: 70000 }\n")
        } throws: { error in
            "\(error)".contains("9:20") && "\(error)".contains("relp_port must be between 1 and 65535, got 70000")
        }
    }
}
