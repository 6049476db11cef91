import Foundation
import PyreCore
import PyreDeploy
import PyreHealth
import PyreEvents
import Testing
@testable import PyreAgent

#if canImport(Glibc)
import Glibc
#endif

/// The replay gate against a real HTTP server (Python's http.server on loopback) whose
/// reported position the test moves.
@Suite("Replay gate")
struct ReplayGateTests {
    @Test func newServerPassesOnlyOnceItReportsTheTargetFixedAtItsFirstProbe() async throws {
        try await withReportingServer { directory, port in
            let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite"))
            _ = try await store.append(to: "book", (0..<5).map { NewEvent(type: "Added", data: Data("{\"n\":\($0)}".utf8)) },
                                       expected: .any)
            let gate = ReplayGate(probe: NetworkHealthChecker(), store: store)
            let server = ServerInfo.testServer(port: port)
            var spec = HealthCheckSpec(probe: .http(path: "/healthz"))
            spec.replay = ReplaySpec(stream: "book")

            try report("-1", in: directory)
            #expect(await gate.checkGate(of: server, spec: spec) == .fail(reason: "replayed up to -1, not yet 4"))
            // Events appended after the first probe do not move this server's target.
            _ = try await store.append(to: "book", [NewEvent(type: "Added", data: Data("{}".utf8))], expected: .any)
            try report("4", in: directory)
            #expect(await gate.checkGate(of: server, spec: spec) == .pass)
            // Live servers are probed without the replay condition.
            try report("", in: directory)
            #expect(await gate.check(address: server.address, port: port, spec: spec) == .pass)
        }
    }

    @Test func aReplayingServerWithoutTheHeaderIsHeldBack() async throws {
        try await withReportingServer { directory, port in
            let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite"))
            let gate = ReplayGate(probe: NetworkHealthChecker(), store: store)
            var spec = HealthCheckSpec(probe: .http(path: "/healthz"))
            spec.replay = ReplaySpec(stream: "$all")
            try report("", in: directory)
            let result = await gate.checkGate(of: .testServer(port: port), spec: spec)
            guard case .fail(let reason) = result else { Issue.record("passed without a Pyre-Position header"); return }
            #expect(reason.contains("no Pyre-Position header"))
            try report("-1", in: directory)
            #expect(await gate.checkGate(of: .testServer(port: port), spec: spec) == .pass)
        }
    }

    /// The server answers /healthz with the contents of POSITION as its Pyre-Position header
    /// (none when empty).
    private func report(_ position: String, in directory: URL) throws {
        try position.write(to: directory.appendingPathComponent("POSITION"), atomically: true, encoding: .utf8)
    }

    private func withReportingServer(_ body: (URL, Int) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try report("-1", in: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    position = open(sys.argv[1] + "/POSITION").read()
                    self.send_response(200)
                    if position:
                        self.send_header("Pyre-Position", position)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", 0), H)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """, directory.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // SIGKILL: the test process blocks SIGTERM, and its children inherit that.
        defer { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        let line = await Task.detached { output.fileHandleForReading.availableData }.value
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw PyreError(.agent, "the test server did not start")
        }
        try await body(directory, port)
    }
}

extension ServerInfo {
    static func testServer(port: Int) -> ServerInfo {
        ServerInfo(id: ServerID("web-1-abcd"), service: "web", generation: 1, image: ImageDigest("sha256:00"),
                   configHash: "0", address: "127.0.0.1", port: port, createdAt: Date(), state: .running)
    }
}
