import Foundation
import PyreAPI
import PyreTesting
import Testing

/// The dashboard in real headless Chromium (Debian's `chromium` and `chromium-driver`, driven
/// by selenium through Scripts/dashboard_session.py), signed in through the link `pyre ui`
/// prints; and what it refuses, asked with curl.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "needs chromium and chromium-driver"))
struct DashboardTests {
    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-output/dashboard")

    @Test func aBrowserSignsInWatchesADeployItStartedAndSearchesLogs() async throws {
        let controlPort = try freeLoopbackPort(), logsPort = try freeLoopbackPort()
        let system = try TestSystem(name: "uiflow", service: "count: 2", extra: "logs: { port: \(logsPort) }")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process", arguments: ["--control-port", "\(controlPort)"])
        defer { agent.terminate() }
        _ = try await agent.waitForHealthy(count: 2)
        let base = "http://127.0.0.1:\(controlPort)"
        let systemAddress = try await agent.systemAddress()
        let needle = "dashboard-needle-\(UUID().uuidString.prefix(8))"
        _ = try await runTool("/usr/bin/logger", ["--server", systemAddress, "--port", "\(logsPort)", "--udp", needle])

        // Without a session: a page that says what to do, and JSON for scripts.
        let page = try await runTool("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "\(base)/ui"])
        #expect(page.output.hasSuffix("\n401") && page.output.contains("pyre ui"), "\(page.output)")
        let status = try await runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/v1/status"])
        #expect(status.output == "401")

        // A code is good once, on its own host name; the session is that name's, and it needs the
        // page's CSRF token to change anything.
        let login = try await pyre(["ui", system.directory.path])
        let match = try #require(login.output.firstMatch(of: /http:\/\/(p[0-9a-f]{20}\.localhost):(\d+)\/ui\/login\?code=[0-9a-f]+/),
                                 "\(login.output)")
        let (url, site) = (String(match.0), String(match.1))
        let resolve = ["--resolve", "\(site):\(controlPort):127.0.0.1"]  // as browsers send *.localhost to loopback
        let jar = system.directory.appendingPathComponent("cookies").path
        let signedIn = try await runTool("/usr/bin/curl", ["-s", "-c", jar, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"]
                                         + resolve + [url])
        #expect(signedIn.output == "303 http://\(site):\(controlPort)/ui", "\(signedIn.output)")
        let again = try await runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}"] + resolve + [url])
        #expect(again.output == "401", "a used code: \(again.output)")
        let elsewhere = try await pyre(["ui", system.directory.path])
        let onLoopback = elsewhere.output.replacing(/p[0-9a-f]{20}\.localhost/, with: "127.0.0.1")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let wrongHost = try await runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", onLoopback])
        #expect(wrongHost.output == "401", "a code on another host name: \(wrongHost.output)")
        let sessionCookie = try #require(try String(contentsOfFile: jar, encoding: .utf8).firstMatch(of: /pyre_session\s+([0-9a-f]{64})/)
            .map { "pyre_session=\($0.1)" })
        let stolen = try await runTool("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", sessionCookie, "\(base)/v1/status"])
        #expect(stolen.output == "401", "the session on another host name: \(stolen.output)")
        let sitePage = "http://\(site):\(controlPort)"
        let shell = try await runTool("/usr/bin/curl", ["-s", "-b", jar] + resolve + ["\(sitePage)/ui"]).output
        let csrf = try #require(shell.firstMatch(of: /name="csrf-token" content="([0-9a-f]{64})"/).map { String($0.1) }, "\(shell)")
        for header in [[], ["-H", "X-CSRF-Token: \(String(csrf.reversed()))"]] {
            let refused = try await runTool("/usr/bin/curl", ["-s", "-b", jar, "-X", "POST", "-w", "\n%{http_code}"] + resolve + header
                                            + ["\(sitePage)/v1/destroy"])
            #expect(refused.output.hasSuffix("\n403") && refused.output.contains("X-CSRF-Token"), "\(refused.output)")
        }
        let fleet = try await pyre(["status", system.directory.path])
        #expect(fleet.output.contains("2/2 healthy"), "nothing was destroyed: \(fleet.output)")

        // The browser: its own login link, then the deploy it starts sees version 2.
        try system.setVersion("v2")
        let browserLogin = try await pyre(["ui", system.directory.path])
        let browserURL = try #require(browserLogin.output.split(separator: "\n").first.map(String.init))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/dashboard_session.py")
        // The python3 scripts/test installed selenium for: the first on PATH.
        let python = try #require(ExternalTool.path("python3"))
        let events = try #require(try AgentEndpoint.read(from: system.state.agentFile).events)
        let session = try await runTool(python, [script.path, browserURL, Self.screenshots.path, try system.state.readToken(),
                                                 needle, events, try system.state.readEventsToken()], includeErrors: true)
        print(session.output)
        #expect(session.status == 0 && session.output.contains("dashboard session ok"), "\(session.output)")
        let history = try await pyre(["history", system.directory.path])
        #expect(history.output.contains("#2"), "the page's deploy is deployment 2: \(history.output)")
        try await agent.stop()
    }
}
