// Fuzzes PyreLogs's syslog parser and TCP framer with seeded random and mutated messages.
// Usage: PyreLogsFuzz [--count N] [--seed S]   (see fuzz/README.md)
import PyreFuzzing
import PyreLogs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let options = FuzzOptions()
print("PyreLogsFuzz: seed \(options.seed), \(options.count) inputs")
var fuzzer = SyslogFuzzer(seed: options.seed)
let clock = ContinuousClock()
let start = clock.now
do {
    let report = try fuzzer.run(count: options.count)
    let seconds = (clock.now - start) / .seconds(1)
    let formats = [SyslogRecord.Format.rfc5424, .rfc3164, .unparsed].map { "\($0) \(report.byFormat[$0, default: 0])" }
    print("inputs \(report.inputs): \(formats.joined(separator: ", ")); round trips \(report.roundTrips), frames \(report.frames)")
    print("seconds \((seconds * 10).rounded() / 10), inputs/s \(Int(Double(report.inputs) / seconds)), slowest input \(report.slowestInput)")
    print("no crash, no failed check")
} catch {
    print("FAILED (replay with --seed \(options.seed)): \(error)")
    exit(1)
}
