import Testing
import PyreFuzzing
@testable import PyreDNS

@Suite struct FuzzTests {
    /// A short run of the fuzz target's generator, bounds-checked in a debug build.
    @Test(arguments: [UInt64(1), 20_260_101])
    func decoderAndResponderSurviveRandomAndMutatedPackets(seed: UInt64) throws {
        var fuzzer = DNSFuzzer(seed: seed, zone: try TestZone.make())
        let report = try fuzzer.run(count: 10_000)
        #expect(report.inputs == 10_000)
        #expect(report.replies > 0 && report.decodedInputs > 0)
    }
}
