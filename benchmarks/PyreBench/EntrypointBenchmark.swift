import Foundation
import PyreTesting
import Logging
import NIOCore
import NIOPosix
import PyreEntrypoints

/// Entry point throughput and latency: `wrk` through Pyre's `EntrypointProxy` against the same
/// traffic through nginx's `stream` proxy, both in front of the same three backends, in one run.
///
/// The 2 cores are shared by everything at once, as on a real small host: wrk (2 threads), the
/// proxy under test (Pyre: its relay loops, one per core; nginx: `worker_processes 2`) and the
/// backends (one nginx worker serving a fixed 3-byte reply on three ports; cheaper per request
/// than either proxy, which does two reads and two writes per request to its one read and
/// write, so the proxy is the bottleneck). The idle proxy does not run while
/// the other is measured. Rounds alternate which proxy goes first, and the verdict uses the median
/// of the per-round ratios: each ratio compares two runs seconds apart, so load from neighbours on
/// the shared host cancels out better than in a ratio of means.
/// Needs: wrk, nginx-light and libnginx-mod-stream (Debian).
enum EntrypointBenchmark {
    static let rounds = 5
    static let wrkArguments = ["-t2", "-c64", "-d10s", "--latency"]
    /// Pyre's throughput against nginx's; Pyre's CPU per request and p99 latency must not exceed nginx's.
    static let target = 1.0

    struct Result {
        var requestsPerSecond: Double
        var latency: [String: String]  // percentile → wrk's figure, e.g. "50%" → "1.02ms"
        var errors: String?
        var requests = 0
        /// CPU time the proxy used per request: unlike requests/s, it hardly depends on what else the host runs.
        var cpuMicrosecondsPerRequest = 0.0

        /// wrk's figure (`850.00us`, `1.02ms`, `1.10s`) in microseconds.
        var p99Microseconds: Double? {
            guard let text = latency["99%"] else { return nil }
            for (unit, scale) in [("us", 1.0), ("ms", 1e3), ("s", 1e6)] where text.hasSuffix(unit) {
                return Double(text.dropLast(unit.count)).map { $0 * scale }
            }
            return nil
        }
    }

    static func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-bench-entry-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: work) }

        var backendPorts: [Int] = []
        for _ in 0..<3 { backendPorts.append(try freeLoopbackPort()) }
        let nginxPort = try freeLoopbackPort()
        let backends = try startNginx(named: "backends", in: work, config: backendConfig(ports: backendPorts))
        defer { stop(backends) }
        let stream = try startNginx(named: "stream", in: work, config: streamConfig(port: nginxPort, backends: backendPorts))
        defer { stop(stream) }

        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let proxy = EntrypointProxy(name: "bench", balance: .leastConnections, logger: logger)
        proxy.setBackends(backendPorts.enumerated().map { EntrypointBackend(id: "b\($0)", host: "127.0.0.1", port: $1) })
        let pyrePort = try await proxy.start(host: "127.0.0.1", port: 0)

        for port in backendPorts + [nginxPort, pyrePort] { try await waitUntilListening(port) }
        let nginxCPU = { childrenCPUSeconds(of: stream.processIdentifier) }
        for port in [nginxPort, pyrePort] { _ = try wrk(port: port, arguments: ["-t2", "-c64", "-d2s"], cpu: ownCPUSeconds) }  // warm-up

        var pyre: [Result] = []
        var nginx: [Result] = []
        for round in 0..<rounds {
            if round.isMultiple(of: 2) {
                nginx.append(try wrk(port: nginxPort, arguments: wrkArguments, cpu: nginxCPU))
                pyre.append(try wrk(port: pyrePort, arguments: wrkArguments, cpu: ownCPUSeconds))
            } else {
                pyre.append(try wrk(port: pyrePort, arguments: wrkArguments, cpu: ownCPUSeconds))
                nginx.append(try wrk(port: nginxPort, arguments: wrkArguments, cpu: nginxCPU))
            }
        }
        await proxy.stop()

        print("entry point: wrk \(wrkArguments.joined(separator: " ")), 3 nginx backends, \(rounds) rounds, "
              + "\(ProcessInfo.processInfo.activeProcessorCount) cores shared")
        print("  round  pyre req/s  nginx req/s  ratio   pyre p50/p90/p99            nginx p50/p90/p99")
        for (index, (p, n)) in zip(pyre, nginx).enumerated() {
            print(String(format: "  %5d  %10.0f  %11.0f  %5.3f", index + 1, p.requestsPerSecond, n.requestsPerSecond,
                         p.requestsPerSecond / n.requestsPerSecond)
                  + "   " + percentiles(p).padding(toLength: 26, withPad: " ", startingAt: 0) + "  " + percentiles(n))
        }
        for (name, results) in [("pyre", pyre), ("nginx", nginx)] {
            for error in results.compactMap(\.errors) { print("  \(name) errors: \(error)") }
        }
        let ratio = median(zip(pyre, nginx).map { $0.requestsPerSecond / $1.requestsPerSecond })
        let (pyreCPU, nginxCPUPerRequest) = (median(pyre.map(\.cpuMicrosecondsPerRequest)), median(nginx.map(\.cpuMicrosecondsPerRequest)))
        let p99Ratio = median(zip(pyre, nginx).compactMap { p, n in
            guard let mine = p.p99Microseconds, let theirs = n.p99Microseconds else { return nil }
            return mine / theirs
        })
        print(String(format: "  mean   %10.0f  %11.0f  %5.3f", mean(pyre), mean(nginx), mean(pyre) / mean(nginx)))
        print(String(format: "  median ratio %.3f×  target ≥ %.1f×: %@", ratio, target, ratio >= target ? "met" : "MISSED"))
        print(String(format: "  proxy CPU per request, median: pyre %.1f µs, nginx %.1f µs (pyre/nginx %.3f×)  target ≤ 1: %@",
                     pyreCPU, nginxCPUPerRequest, pyreCPU / nginxCPUPerRequest, pyreCPU <= nginxCPUPerRequest ? "met" : "MISSED"))
        print(String(format: "  p99 latency pyre/nginx, median of rounds %.3f×  target ≤ 1: %@", p99Ratio,
                     p99Ratio <= 1 ? "met" : "MISSED"))
    }

    private static func mean(_ results: [Result]) -> Double {
        results.map(\.requestsPerSecond).reduce(0, +) / Double(results.count)
    }

    private static func percentiles(_ result: Result) -> String {
        ["50%", "90%", "99%"].map { result.latency[$0] ?? "?" }.joined(separator: "/")
    }

    // MARK: nginx

    private static func backendConfig(ports: [Int]) -> String {
        """
        worker_processes 1;
        events { worker_connections 4096; }
        http {
            access_log off;
            keepalive_requests 100000000;
            server {
        \(ports.map { "        listen 127.0.0.1:\($0);" }.joined(separator: "\n"))
                location / { return 200 "ok\\n"; }
            }
        }
        """
    }

    private static func streamConfig(port: Int, backends: [Int]) -> String {
        """
        load_module /usr/lib/nginx/modules/ngx_stream_module.so;
        worker_processes 2;
        events { worker_connections 4096; }
        stream {
            upstream backends {
                least_conn;
        \(backends.map { "        server 127.0.0.1:\($0);" }.joined(separator: "\n"))
            }
            server {
                listen 127.0.0.1:\(port);
                proxy_pass backends;
                proxy_connect_timeout 2s;
            }
        }
        """
    }

    /// Runs nginx in the foreground (`daemon off`) with its own prefix, config, pid file and log.
    private static func startNginx(named name: String, in work: URL, config: String) throws -> Process {
        let prefix = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("logs"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let file = prefix.appendingPathComponent("nginx.conf")
        try ("daemon off;\npid \(prefix.path)/nginx.pid;\nerror_log stderr warn;\n" + config)
            .write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        process.arguments = ["-p", prefix.path + "/", "-c", file.path, "-e", "stderr"]
        try process.run()
        return process
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()  // SIGTERM: nginx's fast shutdown
        process.waitUntilExit()
    }

    // MARK: wrk

    private static func wrk(port: Int, arguments: [String], cpu: () -> Double) throws -> Result {
        let cpuBefore = cpu()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        process.arguments = arguments + ["http://127.0.0.1:\(port)/"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var result = try parse(text)
        result.cpuMicrosecondsPerRequest = (cpu() - cpuBefore) * 1e6 / Double(max(result.requests, 1))
        return result
    }

    private static func parse(_ output: String) throws -> Result {
        var result = Result(requestsPerSecond: 0, latency: [:])
        var errors: [String] = []
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if line.contains("requests in"), let value = fields.first.flatMap({ Int($0) }) {
                result.requests = value
            } else if line.hasPrefix("Requests/sec:"), let value = fields.last.flatMap({ Double($0) }) {
                result.requestsPerSecond = value
            } else if fields.count == 2, ["50%", "75%", "90%", "99%"].contains(String(fields[0])) {
                result.latency[String(fields[0])] = String(fields[1])
            } else if line.contains("Socket errors") || line.contains("Non-2xx") {
                errors.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        guard result.requestsPerSecond > 0 else { throw BenchmarkError("could not parse wrk's output:\n\(output)") }
        result.errors = errors.isEmpty ? nil : errors.joined(separator: "; ")
        return result
    }

    /// User and system time of this process, which runs Pyre's proxy; wrk and nginx are other processes.
    private static func ownCPUSeconds() -> Double {
        ProcessUsage.cpuSeconds(of: [getpid()])
    }

    /// User and system time of a process's children (nginx's workers).
    private static func childrenCPUSeconds(of pid: Int32) -> Double {
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return ProcessUsage.cpuSeconds(of: children.split(separator: " ").compactMap { Int32($0) })
    }

    // MARK: ports

    private static func waitUntilListening(_ port: Int) async throws {
        for _ in 0..<100 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchmarkError("nothing listens on 127.0.0.1:\(port)")
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
