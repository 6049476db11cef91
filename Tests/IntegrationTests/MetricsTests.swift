import Foundation
import PyreTesting
import Testing

/// `GET /metrics` scraped by a real Prometheus (Debian's `prometheus`, in the foreground with a
/// config this test writes, reading the agent's token file), and what is served is exactly what
/// docs/metrics.md lists.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"), "needs the prometheus package"))
struct MetricsTests {
    static let documentation = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/metrics.md")

    @Test func prometheusScrapesTheAgentAndTheDocsListWhatIsServed() async throws {
        let controlPort = try freeLoopbackPort(), entryPort = try freeLoopbackPort(), dnsPort = try freeLoopbackPort()
        let logsPort = try freeLoopbackPort()
        let system = try TestSystem(name: "promup", service: "count: 2", extra: """
            entrypoints:
              public: { listen: "127.0.0.1:\(entryPort)", service: web }
            dns: { listen: "127.0.0.1:\(dnsPort)" }
            logs: { port: \(logsPort) }
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process", arguments: ["--control-port", "\(controlPort)"])
        defer { agent.terminate() }
        _ = try await agent.waitForHealthy(count: 2)
        let url = "http://127.0.0.1:\(controlPort)/metrics"
        // Something for the layers to count: a request through the entry point, DNS over both transports.
        let page = try await runTool("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(entryPort)/"])
        #expect(page.status == 0, "\(page.output)")
        let systemAddress = try await agent.systemAddress()
        _ = try await runTool("/usr/bin/logger", ["--server", systemAddress, "--port", "\(logsPort)", "--udp", "counted"])
        for transport in ["+notcp", "+tcp"] {
            _ = try await runTool("/usr/bin/dig", ["@127.0.0.1", "-p", "\(dnsPort)", transport, "+short", "web.promup.pyre."])
            _ = try await runTool("/usr/bin/dig", ["@127.0.0.1", "-p", "\(dnsPort)", transport, "+short", "nope.promup.pyre."])
        }

        let refused = try await runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        #expect(refused.output == "401", "without the token: \(refused.output)")
        let token = try system.state.readToken()
        // The log record and the connection's bytes are counted once committed and closed: moments later.
        var served = ""
        for _ in 0..<50 {
            served = try await runTool("/usr/bin/curl", ["-sf", "-H", "Authorization: Bearer \(token)", url]).output
            if served.contains("pyre_log_records_stored_total{transport=\"udp\"} 1"),
               served.contains(/pyre_entrypoint_bytes_total\{direction="from_backends",entrypoint="public"\} [1-9]/) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(served.contains("pyre_deployments_total{trigger=\"manual\",outcome=\"completed\"} 1"), "\(served)")
        #expect(served.contains("pyre_deployment_duration_seconds_count{trigger=\"manual\"} 1"), "\(served)")
        #expect(served.contains("pyre_servers{service=\"web\",generation=\"1\",health=\"healthy\"} 2"), "\(served)")
        for transport in ["udp", "tcp"] {
            for rcode in ["NOERROR", "NXDOMAIN"] {
                #expect(served.contains("pyre_dns_queries_total{rcode=\"\(rcode)\",transport=\"\(transport)\"} 1"), "\(served)")
            }
        }
        #expect(served.contains("pyre_entrypoint_connections_total{entrypoint=\"public\"} 1"), "\(served)")
        #expect(served.contains(/pyre_entrypoint_bytes_total\{direction="from_backends",entrypoint="public"\} [1-9]/), "\(served)")
        #expect(served.contains(/pyre_health_checks_total\{result="pass"\} [1-9]/), "\(served)")
        #expect(served.contains("pyre_log_records_stored_total{transport=\"udp\"} 1"), "\(served)")
        let servedNames = Set(served.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let documented = Set(try String(contentsOf: Self.documentation, encoding: .utf8).split(separator: "\n")
            .compactMap { $0.firstMatch(of: /^\| `([a-z_]+)` \|/).map { String($0.1) } })
        #expect(servedNames.subtracting(documented).sorted() == [], "served but not in docs/metrics.md")
        #expect(documented.subtracting(servedNames).sorted() == [], "in docs/metrics.md but not served")

        // A real Prometheus scrapes it with the token file and answers a query about it.
        let prometheusPort = try freeLoopbackPort()
        let config = system.directory.appendingPathComponent("prometheus.yml")
        try """
            global: { scrape_interval: 1s, scrape_timeout: 1s }
            scrape_configs:
              - job_name: pyre
                metrics_path: /metrics
                authorization: { type: Bearer, credentials_file: \(system.state.tokenFile.path) }
                static_configs: [{ targets: ["127.0.0.1:\(controlPort)"] }]
            """.write(to: config, atomically: true, encoding: .utf8)
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        prometheus.arguments = ["--config.file=\(config.path)", "--web.listen-address=127.0.0.1:\(prometheusPort)",
                                "--storage.tsdb.path=\(system.directory.appendingPathComponent("tsdb").path)"]
        let log = system.directory.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        prometheus.standardOutput = try FileHandle(forWritingTo: log)
        prometheus.standardError = prometheus.standardOutput
        try prometheus.run()
        defer { prometheus.terminate(); prometheus.waitUntilExit() }

        func query(_ expression: String) async throws -> [[String: Any]] {
            let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
            let answer = try await runTool("/usr/bin/curl", ["-s", "http://127.0.0.1:\(prometheusPort)/api/v1/query?query=\(encoded)"])
            let json = try? JSONSerialization.jsonObject(with: Data(answer.output.utf8)) as? [String: Any]
            return (json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        }
        func value(_ sample: [String: Any]) -> String? { (sample["value"] as? [Any])?.last as? String }
        var up: [[String: Any]] = []
        for _ in 0..<120 {
            up = try await query("up{job=\"pyre\"}")
            if up.first.flatMap(value) == "1" { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let prometheusLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(up.first.flatMap(value) == "1", "the target is up: \(up)\n\(prometheusLog.suffix(2000))")
        let deployments = try await query("pyre_deployments_total{trigger=\"manual\",outcome=\"completed\"}")
        #expect(deployments.first.flatMap(value) == "1", "\(deployments)")
        try await agent.stop()
    }
}
