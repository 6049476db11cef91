import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The event store end to end: its HTTP API as servers use it, crash safety of the agent,
/// and the guestbook example replaying before it takes traffic.
@Suite("Event store", .serialized)
struct EventStoreTests {
    @Test func racingWritersLetExactlyOneWinAndTheAPIRefusesBadRequests() async throws {
        let system = try TestSystem(name: "evrace")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 3)
        let result = try await eventsScript(system, ["race"])
        let report = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        #expect(report?["created"] as? Int == 1, "\(result.output)")
        #expect(report?["conflicts"] as? Int == 15)
        // The winner moved the stream to version 1; every loser is told so.
        #expect(report?["actualVersions"] as? [Int] == [1])
        #expect(report?["unauthorized"] as? Int == 401)
        #expect(report?["malformed"] as? Int == 400)
        #expect(report?["tooLarge"] as? Int == 413)
        #expect(report?["resumedIds"] as? [String] == ["1", "2"])
        #expect(report?["idTaken"] as? Int == 409)
        try await agent.stop()
    }

    @Test func everyAcknowledgedAppendSurvivesSIGKILLOfTheAgent() async throws {
        let system = try TestSystem(name: "evcrash")
        defer { system.cleanUp() }
        var agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 3)
        let acknowledged = system.directory.appendingPathComponent("acknowledged.jsonl")
        let load = Task { try await eventsScript(system, ["load", acknowledged.path]) }
        // Kill once the load has been acknowledged for a while.
        let deadline = ContinuousClock.now + .seconds(60)
        while ((try? String(contentsOf: acknowledged, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 200 {
            guard ContinuousClock.now < deadline else {
                load.cancel()
                throw TestFailure("the load had not 200 acknowledged appends after 60 s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        agent.signal(SIGKILL)
        _ = try await load.value
        agent.process.waitUntilExit()
        agent = try AgentProcess(system, isolation: "process")
        try await agent.waitForHealthy(count: 3)
        let check = try await eventsScript(system, ["check", acknowledged.path])
        #expect(check.output.hasPrefix("ok "), "\(check.output)")
        try await agent.stop()
    }

    @Test func guestbookServersShowEveryEntryAfterARedeploy() async throws {
        // The example as shipped is a whole server, which only namespace mode runs.
        let isolation = isolationModes.contains("namespaces") ? "namespaces" : "process"
        let system = try GuestbookSystem(wholeServer: isolation == "namespaces")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system.system, isolation: isolation,
                                     environment: ["PYRE_LAYER_CACHE": WholeServerTests.runLayerCache.path])
        defer { agent.terminate() }
        // The first bake of the run fetches the Debian base.
        try await agent.waitForHealthy(count: 3, timeout: .seconds(300))
        for number in 0..<20 {
            let posted = try await runTool("/usr/bin/curl", [
                "--noproxy", "*", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                "-X", "POST", "-d", #"{"name": "guest \#(number)", "message": "hello"}"#,
                "http://127.0.0.1:\(system.entryPort)/entries"])
            #expect(posted.output == "201")
        }
        let old = Set(try await agent.status().services.flatMap(\.servers).map(\.id))
        try system.changeImage()
        let deploy = try await pyre(["deploy", system.system.directory.path])
        #expect(deploy.status == 0, "\(deploy.output)")
        let servers = try await agent.waitForHealthy(count: 3, excluding: old)
        for server in servers {
            let page = try await runTool("/usr/bin/curl", ["--noproxy", "*", "-s", "--max-time", "3",
                                                           "http://\(server.address):\(server.port)/entries"])
            let entries = (try JSONSerialization.jsonObject(with: Data(page.output.utf8)) as? [String: Any])?["entries"] as? [Any]
            #expect(entries?.count == 20, "\(server.id): \(page.output)")
        }
        let events = try await pyre(["events", system.system.directory.path, "--stream", "guestbook", "--json"])
        #expect(events.output.split(separator: "\n").count == 20, "\(events.output)")
        // The destroyed servers' logs outlive them: their output and what they sent over syslog.
        let logs = try await pyre(["logs", "web", system.system.directory.path, "--json", "--limit", "10000"])
        let records = logs.output.split(separator: "\n").compactMap { try? JSONDecoder.pyre.decode(LogLine.self, from: Data($0.utf8)) }
        let stored = records.filter { $0.message.hasPrefix("entry by guest") }
        #expect(stored.count == 20, "\(logs.output)")
        #expect(stored.allSatisfy { old.contains($0.server ?? "") && $0.source == "syslog" && $0.appName == "guestbook" })
        for id in old {
            #expect(records.contains { $0.server == id && $0.source == "stdout" && $0.message.contains("listening on") })
        }
        let grep = try await pyre(["logs", system.system.directory.path, "--grep", "entry by guest 1[0-9] ", "--json"])
        #expect(grep.output.split(separator: "\n").count == 10, "\(grep.output)")
        try await agent.stop()
    }

    /// Runs Scripts/events_client.py against the system's events API.
    private func eventsScript(_ system: TestSystem, _ arguments: [String]) async throws -> CommandResult {
        let endpoint = try AgentEndpoint.read(from: system.state.agentFile)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/events_client.py")
        return try await runTool("/usr/bin/env", ["python3", script.path, endpoint.events ?? "",
                                                   try system.state.readEventsToken()] + arguments, includeErrors: true)
    }
}

/// examples/guestbook copied to a temporary directory, its entry point on a free port;
/// without `wholeServer`, its image runs on the host's OS (no `base:`).
struct GuestbookSystem {
    let system: TestSystem
    let entryPort: Int

    init(wholeServer: Bool = false) throws {
        system = try TestSystem(name: "gbook")
        entryPort = try freeLoopbackPort()
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../examples/guestbook").standardizedFileURL
        let app = system.appDirectory
        try FileManager.default.removeItem(at: app)
        try FileManager.default.copyItem(at: example.appendingPathComponent("app"), to: app)
        let manifest = try String(contentsOf: example.appendingPathComponent("pyre.yml"), encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:8080", with: "127.0.0.1:\(entryPort)")
            .replacingOccurrences(of: "system: guestbook", with: "system: gbook")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { wholeServer || !$0.contains("base: { debian:") }.joined(separator: "\n")
        try manifest.write(to: system.directory.appendingPathComponent("pyre.yml"), atomically: true, encoding: .utf8)
    }

    func changeImage() throws {
        let file = system.appDirectory.appendingPathComponent("guestbook.py")
        let source = try String(contentsOf: file, encoding: .utf8)
        try (source + "\n# changed \(UUID())\n").write(to: file, atomically: true, encoding: .utf8)
    }

    func cleanUp() { system.cleanUp() }
}
