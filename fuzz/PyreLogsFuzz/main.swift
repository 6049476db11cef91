// Fuzzes PyreLogs's syslog parser and TCP framer with seeded random and mutated messages.
// Usage: PyreLogsFuzz [--count N] [--seed S]   (see fuzz/README.md)
import PyreFuzzing
import PyreLogs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func option(_ name: String) -> UInt64? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return UInt64(arguments[index + 1])
}

let count = Int(option("--count") ?? 1_000_000)
let seed = option("--seed") ?? UInt64(time(nil))
print("PyreLogsFuzz: seed \(seed), \(count) inputs")
var fuzzer = SyslogFuzzer(seed: seed)
let clock = ContinuousClock()
let start = clock.now
do {
    let report = try fuzzer.run(count: count)
    let seconds = (clock.now - start) / .seconds(1)
    let formats = [SyslogRecord.Format.rfc5424, .rfc3164, .unparsed].map { "\($0) \(report.byFormat[$0, default: 0])" }
    print("inputs \(report.inputs): \(formats.joined(separator: ", ")); round trips \(report.roundTrips), frames \(report.frames)")
    print("seconds \((seconds * 10).rounded() / 10), inputs/s \(Int(Double(report.inputs) / seconds)), slowest input \(report.slowestInput)")
    print("no crash, no failed check")
} catch {
    print("FAILED (replay with --seed \(seed)): \(error)")
    exit(1)
}
