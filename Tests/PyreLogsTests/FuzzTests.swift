import Testing
import PyreFuzzing
@testable import PyreLogs

@Suite struct FuzzTests {
    /// A short run of the fuzz target's generator, bounds-checked in a debug build.
    @Test(arguments: [UInt64(1), 20_261_127])
    func parserAndFramerSurviveRandomAndMutatedMessages(seed: UInt64) throws {
        var fuzzer = SyslogFuzzer(seed: seed)
        let report = try fuzzer.run(count: 5_000)
        #expect(report.inputs == 5_000)
        #expect(report.roundTrips > 0 && report.frames > 0)
        #expect(report.byFormat.count == 3, "every format was produced: \(report.byFormat)")
    }
}
