import Foundation
import Logging
import PyreDNS
import PyreTesting

/// dnsperf against Pyre's DNSServer (in this process) and NSD in the same run: the same zone,
/// the same query mix (positive, NXDOMAIN, NODATA), over UDP and TCP.
///
/// Cores: nothing is pinned. The machine's cores are shared by the server being measured
/// (Pyre's event loops, one per core, or NSD's `server-count` processes, one per core) and
/// dnsperf's two threads, scheduled by the kernel. Only one server is loaded at a time; the
/// other sits idle. Queries per second come from a plain dnsperf run; p99 latency from a second,
/// verbose run of the same length (dnsperf 2.10 prints per-query latency only with -v).
/// Pyre and NSD take turns over several rounds and the medians are compared, so one noisy
/// run on the shared cores does not decide the result.
///
/// Latency is compared at the same offered load, half of NSD's measured maximum (dnsperf -Q):
/// at saturation, dnsperf keeps 100 queries outstanding per thread and latency is mostly time
/// spent queued behind them, which says more about scheduling on the shared cores than about
/// the server. The p99 at saturation is printed too.
enum DNSBenchmark {
    static func run(seconds: Int, rounds: Int) async throws {
        let dnsperf = try tool("dnsperf")
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-dns-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workspace) }

        let zone = try benchmarkZone()
        let queries = workspace.appendingPathComponent("queries.txt")
        try queryMix().joined(separator: "\n").write(to: queries, atomically: true, encoding: .utf8)

        var logger = Logger(label: "pyre.dns.bench")
        logger.logLevel = .warning
        let pyre = DNSServer(zone: zone, logger: logger)
        let pyrePort = try await pyre.start(host: "127.0.0.1", port: 0)
        let nsd = try NSDServer(zoneFile: zone.zoneFileText(), apex: zone.apex, serial: zone.serial, port: freeLoopbackPort(),
                                directory: workspace, serverCount: ProcessInfo.processInfo.activeProcessorCount)

        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("dns: \(zone.zoneFileText().split(separator: "\n").count - 1) records, query mix 60% positive,"
              + " 20% NXDOMAIN, 20% NODATA; \(rounds) rounds of \(seconds) s runs, medians compared;"
              + " \(cores) cores shared by the server"
              + " (Pyre: \(cores) event loops, NSD: server-count \(cores)) and dnsperf (2 threads), nothing pinned")
        defer { nsd.stop() }
        for mode in ["udp", "tcp"] {
            var pyreResults: [Result] = []
            var nsdResults: [Result] = []
            for _ in 0..<rounds {
                pyreResults.append(try measure(dnsperf, port: pyrePort, mode: mode, queries: queries, seconds: seconds))
                nsdResults.append(try measure(dnsperf, port: nsd.port, mode: mode, queries: queries, seconds: seconds))
            }
            let ratios = zip(pyreResults, nsdResults).map { format($0.queriesPerSecond / $1.queriesPerSecond) + "x" }
            print("  \(mode.uppercased())   qps ratio by round: \(ratios.joined(separator: ", "))")
            let offered = Int(Result.median(of: nsdResults).queriesPerSecond / 2)
            var pyreLatency: [Double] = []
            var nsdLatency: [Double] = []
            for _ in 0..<rounds {
                pyreLatency.append(try measure(dnsperf, port: pyrePort, mode: mode, queries: queries, seconds: seconds,
                                               rate: offered).p99Milliseconds)
                nsdLatency.append(try measure(dnsperf, port: nsd.port, mode: mode, queries: queries, seconds: seconds,
                                              rate: offered).p99Milliseconds)
            }
            report(mode: mode, pyre: .median(of: pyreResults), nsd: .median(of: nsdResults), offered: offered,
                   p99AtOffered: (Result.middle(pyreLatency), Result.middle(nsdLatency)))
        }
        await pyre.stop()
    }

    struct Result {
        var queriesPerSecond: Double
        var lostQueries: Int
        var p99Milliseconds: Double

        static func middle<T: Comparable>(_ values: [T]) -> T { values.sorted()[values.count / 2] }

        /// Each figure's median over the rounds.
        static func median(of results: [Result]) -> Result {
            return Result(queriesPerSecond: middle(results.map(\.queriesPerSecond)),
                          lostQueries: middle(results.map(\.lostQueries)),
                          p99Milliseconds: middle(results.map(\.p99Milliseconds)))
        }
    }

    private static func report(mode: String, pyre: Result, nsd: Result, offered: Int, p99AtOffered: (pyre: Double, nsd: Double)) {
        let ratio = pyre.queriesPerSecond / nsd.queriesPerSecond
        let qpsMet = ratio >= 1.0
        let latencyMet = p99AtOffered.pyre <= p99AtOffered.nsd
        print("  \(mode.uppercased())   Pyre \(Int(pyre.queriesPerSecond)) qps, p99 \(format(pyre.p99Milliseconds)) ms,"
              + " lost \(pyre.lostQueries)   NSD \(Int(nsd.queriesPerSecond)) qps, p99 \(format(nsd.p99Milliseconds)) ms,"
              + " lost \(nsd.lostQueries) (at saturation)")
        print("        at \(offered) qps offered to both: p99 Pyre \(format(p99AtOffered.pyre)) ms, NSD \(format(p99AtOffered.nsd)) ms")
        print("        qps ratio \(format(ratio))x (target >= 1.0: \(qpsMet ? "met" : "MISSED")),"
              + " p99 at equal load \(latencyMet ? "no worse than NSD: met" : "worse than NSD: MISSED")")
    }

    private static func format(_ value: Double) -> String { String(format: "%.3f", value) }

    /// 16 clients (source ports) so SO_REUSEPORT spreads them evenly over both servers'
    /// sockets, and 2 dnsperf threads: one thread saturates a core before either server does,
    /// which would measure dnsperf. Two dnsperf runs: a plain one for throughput, a verbose one
    /// for the latency percentile, written to a file so reading it costs no CPU during the run.
    /// With `rate`, dnsperf offers that many queries per second (-Q) and only the latency run is made.
    private static func measure(_ dnsperf: String, port: Int, mode: String, queries: URL, seconds: Int,
                                rate: Int? = nil) throws -> Result {
        var arguments = ["-s", "127.0.0.1", "-p", "\(port)", "-m", mode, "-d", queries.path, "-l", "\(seconds)",
                         "-c", "16", "-T", "2", "-q", "100", "-t", "2"]
        if let rate { arguments += ["-Q", "\(rate)"] }
        let plain = rate == nil ? try runTool(dnsperf, arguments) : ""
        let verboseOutput = queries.deletingLastPathComponent().appendingPathComponent("verbose.txt")
        try runTool(dnsperf, arguments + ["-v"], output: verboseOutput)
        let verbose = try String(contentsOf: verboseOutput, encoding: .utf8)
        let latencies = verbose.split(separator: "\n").compactMap { line -> Double? in
            guard line.hasPrefix("> ") else { return nil }
            return line.split(separator: " ").last.flatMap { Double($0) }
        }.sorted()
        guard let qps = statistic("Queries per second:", in: rate == nil ? plain : verbose), !latencies.isEmpty else {
            throw BenchmarkFailure("dnsperf gave no statistics:\n\(plain)")
        }
        let lost = statistic("Queries lost:", in: plain).map { Int($0) } ?? 0
        return Result(queriesPerSecond: qps, lostQueries: lost,
                      p99Milliseconds: latencies[(latencies.count * 99) / 100] * 1000)
    }

    private static func statistic(_ label: String, in output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains(label) }) else { return nil }
        return line.split(separator: " ").compactMap { Double($0) }.first
    }

    /// A system of 30 services with 3 servers each, as the agent would publish it.
    static func benchmarkZone() throws -> DNSZone {
        var records = ["events", "logs", "dns", "ns"].map {
            DNSRecord(name: "\($0).bench.pyre.", ttl: 5, data: .a("127.0.0.1"))
        }
        for service in 0..<30 {
            for server in 0..<3 {
                let address = "10.0.\(service).\(server + 1)"
                records.append(DNSRecord(name: "svc\(service).bench.pyre.", ttl: 5, data: .a(address)))
                records.append(DNSRecord(name: "svc\(service)-1-\(server)abc.bench.pyre.", ttl: 5, data: .a(address)))
            }
            records.append(DNSRecord(name: "_svc\(service)._tcp.bench.pyre.", ttl: 5,
                                     data: .srv(priority: 0, weight: 0, port: 8080, target: "svc\(service).bench.pyre.")))
        }
        records.append(DNSRecord(name: "_deploy.bench.pyre.", ttl: 5, data: .txt(["42"])))
        return try DNSZone(apex: "bench.pyre.", serial: 42, nameServer: "ns.bench.pyre.",
                           hostmaster: "hostmaster.bench.pyre.", records: records)
    }

    /// 1000 queries: 60% positive, 20% NXDOMAIN, 20% NODATA, interleaved.
    static func queryMix() -> [String] {
        (0..<1000).map { index in
            let service = index % 30
            switch index % 10 {
            case 0, 1, 2: return "svc\(service).bench.pyre A"
            case 3: return "svc\(service)-1-\(index % 3)abc.bench.pyre A"
            case 4: return "_svc\(service)._tcp.bench.pyre SRV"
            case 5: return index % 20 == 5 ? "_deploy.bench.pyre TXT" : "events.bench.pyre A"
            case 6, 7: return "missing\(index).bench.pyre A"
            default: return index % 20 < 10 ? "svc\(service).bench.pyre AAAA" : "svc\(service).bench.pyre MX"
            }
        }
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func tool(_ name: String) throws -> String {
    let candidates = ["/usr/bin/\(name)", "/usr/sbin/\(name)", "/usr/local/bin/\(name)"]
    guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw BenchmarkFailure("\(name) is not installed (apt-get install \(name))")
    }
    return path
}

/// Runs a tool to its end with its output in `file`.
func runTool(_ executable: String, _ arguments: [String], output file: URL) throws {
    _ = FileManager.default.createFile(atPath: file.path, contents: nil)
    let handle = try FileHandle(forWritingTo: file)
    defer { try? handle.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
}

func runTool(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
