import Foundation
import Logging
@testable import PyreLocal
import Testing

/// Two systems whose names give the same loopback prefix do not share it while both run.
@Suite struct LoopbackClaimTests {
    static func isolation(_ configuration: LocalProviderConfiguration) throws -> ProcessIsolation {
        try ProcessIsolation(configuration, logger: Logger(label: "test"))
    }

    @Test func aSecondSystemOnTheSamePrefixTakesTheNextFreeOne() throws {
        let configuration = LocalProviderConfiguration(system: "claim-\(UUID().uuidString.prefix(8))",
                                                       serversDirectory: URL(fileURLWithPath: "/nonexistent"), isolation: .process)
        var first: ProcessIsolation? = try Self.isolation(configuration)
        let second = try Self.isolation(configuration)
        let held = try #require(first?.loopbackPrefix)
        #expect(held != second.loopbackPrefix)
        #expect(second.systemAddress.hasPrefix("127.") && second.systemAddress.hasSuffix(".0.1"))
        first = nil  // its agent ended: the kernel drops the lock
        #expect(try Self.isolation(configuration).loopbackPrefix == held)
    }

    @Test func aPrefixSetByHandIsUsedAsItIs() throws {
        var configuration = LocalProviderConfiguration(system: "claim-manual", serversDirectory: URL(fileURLWithPath: "/nonexistent"),
                                                       isolation: .process)
        configuration.loopbackPrefix = "127.77"
        let (first, second) = (try Self.isolation(configuration), try Self.isolation(configuration))
        #expect([first.systemAddress, second.systemAddress] == ["127.77.0.1", "127.77.0.1"])
    }
}
