import Foundation
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The examples model good practice: an app's log holds what happened to it, not Pyre's
/// health probes (several a second per server).
struct ExampleAppTests {
    private static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")

    @Test func helloLogsRequestsButNotHealthChecks() async throws {
        let port = try freeLoopbackPort()
        let app = Process()
        app.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        app.arguments = [Self.examples.appendingPathComponent("hello/app/app.py").path]
        app.environment = ["PYRE_ADDRESS": "127.0.0.1", "PORT": "\(port)", "PYRE_SERVER": "web-1-abcd", "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        app.standardOutput = output
        try app.run()
        // SIGKILL: the test runner's children inherit an ignored SIGTERM.
        defer { if app.isRunning { kill(app.processIdentifier, SIGKILL) } }

        let base = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<50 where !ready {
            ready = (try? await runTool("/usr/bin/curl", ["--noproxy", "*", "--max-time", "5", "-sf", "\(base)/healthz"]).status) == 0
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(ready, "the hello app did not answer on \(base)")
        for _ in 0..<5 { _ = try await runTool("/usr/bin/curl", ["--noproxy", "*", "--max-time", "5", "-sf", "\(base)/healthz"]) }
        #expect(try await runTool("/usr/bin/curl", ["--noproxy", "*", "--max-time", "5", "-sf", "\(base)/"]).output.hasPrefix("hello from web-1-abcd"))
        kill(app.processIdentifier, SIGKILL)
        app.waitUntilExit()

        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n")
        #expect(!lines.contains { $0.contains("/healthz") }, "\(lines)")
        #expect(lines.contains { $0.contains("\"GET / HTTP/1.1\" 200") }, "the request to / is logged: \(lines)")
    }
}
