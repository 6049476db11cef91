// Fuzzes PyreDNS's message decoder and responder with seeded random and mutated packets.
// Usage: PyreDNSFuzz [--count N] [--seed S]   (see fuzz/README.md)
import PyreDNS
import PyreFuzzing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let options = FuzzOptions()
let zone = try DNSZone(
    apex: "hello.pyre.", serial: 1, nameServer: "ns.hello.pyre.", hostmaster: "hostmaster.hello.pyre.",
    records: [
        DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .a("10.0.0.1")),
        DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .aaaa("fd00::1")),
        DNSRecord(name: "_web._tcp.hello.pyre.", ttl: 5, data: .srv(priority: 0, weight: 0, port: 80, target: "web.hello.pyre.")),
        DNSRecord(name: "www.hello.pyre.", ttl: 5, data: .cname("web.hello.pyre.")),
        DNSRecord(name: "a.b.hello.pyre.", ttl: 5, data: .txt(["x"])),
        DNSRecord(name: "mail.hello.pyre.", ttl: 5, data: .mx(preference: 10, exchange: "web.hello.pyre.")),
    ] + (0..<60).map { DNSRecord(name: "big.hello.pyre.", ttl: 5, data: .a("10.1.0.\($0)")) })

print("PyreDNSFuzz: seed \(options.seed), \(options.count) inputs")
var fuzzer = DNSFuzzer(seed: options.seed, zone: zone)
let clock = ContinuousClock()
let start = clock.now
do {
    let report = try fuzzer.run(count: options.count)
    let seconds = (clock.now - start) / .seconds(1)
    print("inputs \(report.inputs), replies \(report.replies), decodable inputs \(report.decodedInputs)")
    print("seconds \((seconds * 10).rounded() / 10), inputs/s \(Int(Double(report.inputs) / seconds)), slowest input \(report.slowestInput)")
    print("no crash, no failed check")
} catch {
    print("FAILED (replay with --seed \(options.seed)): \(error)")
    exit(1)
}
