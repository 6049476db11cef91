import Foundation
import PyreAPI

/// The dashboard's fleet page of a real system of `servers` servers (the release `pyre up`,
/// process mode, busybox httpd servers) in headless Chromium, against the issue's 1 s target.
enum DashboardBenchmark {
    static func run(servers: Int, rounds: Int) async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-bench-ui-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.createDirectory(at: work.appendingPathComponent("app"), withIntermediateDirectories: true)
        try "ok\n".write(to: work.appendingPathComponent("app/index.html"), atomically: true, encoding: .utf8)
        try """
            system: uibench
            images:
              web:
                context: ./app
                run: ["/bin/sh", "-c", "exec busybox httpd -f -p \\"$PYRE_ADDRESS:$PORT\\" -h ."]
            services:
              web:
                image: web
                count: \(servers)
                port: 8080
                health: { http: /, interval: 2s, timeout: 2s, deadline: 120s }
                drain: 0s
                strategy: { canary: 0, watch: 0s }
            """.write(to: work.appendingPathComponent("pyre.yml"), atomically: true, encoding: .utf8)
        let pyre = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent()
            .appendingPathComponent("pyre")
        let agent = Process()
        agent.executableURL = pyre
        agent.arguments = ["up", work.path, "--isolation", "process"]
        let log = work.appendingPathComponent("agent.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        agent.standardOutput = try FileHandle(forWritingTo: log)
        agent.standardError = agent.standardOutput
        try agent.run()
        defer {
            agent.interrupt()
            agent.waitUntilExit()
        }
        let state = StateDirectory(root: work.appendingPathComponent(".pyre"))
        let deadline = ContinuousClock.now + .seconds(300)
        while true {
            if let client = try? ControlClient(state: state), let status = try? await client.status(),
               status.services.first?.servers.filter({ $0.health == .healthy }).count == servers { break }
            guard agent.isRunning, ContinuousClock.now < deadline else {
                throw BenchmarkFailure("the \(servers)-server system did not come up:\n"
                                       + String(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(3000)))
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        let client = try ControlClient(state: state)
        let url = try await client.dashboardLoginCode().url(controlURL: client.endpoint.url)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("browser/fleet_render.py")
        let result = try Self.python([script.path, url, "\(servers)", "\(rounds)"])
        guard let json = try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: [Double]],
              let loads = json["loads"], let redraws = json["redraws"], !loads.isEmpty else {
            throw BenchmarkFailure("the browser script said: \(result)")
        }
        let load = median(loads), redraw = median(redraws)
        print("dashboard: fleet page of \(servers) servers in headless Chromium, \(rounds) loads")
        print(String(format: "  load to every row painted, median  %8.1f ms  (%@)", load,
                     loads.map { String(format: "%.0f", $0) }.joined(separator: ", ")))
        print(String(format: "  one live redraw, median            %8.1f ms", redraw))
        print(String(format: "  ratio to the 1 s target %.2f×  target < 1 s: %@", load / 1000, load < 1000 ? "met" : "MISSED"))
    }

    private static func python(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchmarkFailure("the browser script failed (exit \(process.terminationStatus))") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
