import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the CLI says, against one running system: where things listen, what a plan
/// changes, and errors that say what is wrong instead of printing nothing.
struct CLIMessageTests {
    @Test func theCLISaysWhatIsGoingOn() async throws {
        let entryPort = try freeLoopbackPort(), dnsPort = try freeLoopbackPort()
        let system = try TestSystem(name: "climsg", service: "count: 1\nenv: { SECRET: hunter2 }", extra: """
            entrypoints:
              public: { listen: "127.0.0.1:\(entryPort)", service: web }
            dns: { listen: "127.0.0.1:\(dnsPort)" }
            """)
        defer { system.cleanUp() }
        let directory = system.directory.path

        // A bake prints its images, not the image store's log records.
        let bake = try await pyre(["bake", directory])
        #expect(bake.status == 0 && bake.output.contains("web  sha256:"), "\(bake.output)")
        #expect(!bake.output.contains("pyre.images") && !bake.output.contains("baked image"), "\(bake.output)")

        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 1)
        #expect(agent.output.contains("entry point public at 127.0.0.1:\(entryPort) → service web"), "\(agent.output)")
        #expect(agent.output.contains(" and 127.0.0.1:\(dnsPort) (`pyre dns` shows the zone)"), "\(agent.output)")
        let accessible = try Self.groupOrOtherAccessible(under: system.state)
        #expect(accessible == [], "\(accessible)")

        let dns = try await pyre(["dns", directory])
        #expect(dns.output.contains("and for the host at 127.0.0.1:\(dnsPort)"), "\(dns.output)")
        let history = try await pyre(["history", directory])
        let today = Date().formatted(.iso8601.year().month().day())
        #expect(history.output.contains("started (UTC)") && history.output.contains("#1    \(today) "), "\(history.output)")

        let emptyStream = try await pyre(["events", directory, "--stream", ""])
        #expect(emptyStream.status != 0 && emptyStream.output.contains("--stream needs a stream name"), "\(emptyStream.output)")
        let negativeFrom = try await pyre(["events", directory, "--from", "-1"])
        #expect(negativeFrom.output.contains("--from is a version or position, 0 or more"), "\(negativeFrom.output)")
        let negativeGeneration = try await pyre(["logs", directory, "--generation", "-1"])
        #expect(negativeGeneration.output.contains("--generation counts from 1"), "\(negativeGeneration.output)")
        let unknown = try await pyre(["logs", "nosuchservice", directory])
        #expect(unknown.status == 1, "\(unknown.output)")
        #expect(unknown.output.contains(#"system climsg has no service "nosuchservice" and no logs of one; its services: web"#),
                "\(unknown.output)")
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-nomanifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let noManifest = try await pyre(["status", elsewhere.path])
        #expect(noManifest.status == 1 && noManifest.output.contains("there is no pyre.yml in \(elsewhere.path)"), "\(noManifest.output)")

        // The scheme of Authorization is case-insensitive, on both APIs.
        let endpoint = try AgentEndpoint.read(from: system.state.agentFile)
        let token = try system.state.readToken(), eventsToken = try system.state.readEventsToken()
        #expect(try await Self.status(endpoint.url + "/v1/status", authorization: "bearer \(token)") == 200)
        #expect(try await Self.status(try #require(endpoint.events) + "/all?limit=1", authorization: "BEARER \(eventsToken)") == 200)
        #expect(try await Self.status(endpoint.url + "/v1/status", authorization: "Basic \(token)") == 401)

        // A form-encoded query (`+` for a space) finds what it names.
        let syslog = try #require(endpoint.syslog)
        let host = String(syslog[..<syslog.lastIndex(of: ":")!]), port = String(syslog[syslog.index(after: syslog.lastIndex(of: ":")!)...])
        _ = try await runTool("/usr/bin/python3", ["-c", "import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
            + ".sendto(b'<14>1 - tester app - - - entry by ada', (sys.argv[1], int(sys.argv[2])))", host, port])
        var found = ""
        for _ in 0..<50 where !found.contains("entry by ada") {
            try await Task.sleep(for: .milliseconds(100))
            found = try await runTool("/usr/bin/curl", ["--noproxy", "*", "-s", "-H", "Authorization: Bearer \(token)",
                                                        endpoint.url + "/v1/logs?grep=entry+by"]).output
        }
        #expect(found.contains("entry by ada"), "\(found)")

        // A plan names the configuration that changed, never an env value.
        try system.writeManifest(service: "count: 1\nenv: { SECRET: hunter3 }")
        let plan = try await pyre(["plan", directory])
        #expect(plan.status == 2 && plan.output.contains("(config changed: env SECRET changed)"), "\(plan.output)")
        #expect(!plan.output.contains("hunter"))

        try await agent.stop()
    }

    /// Files and directories of the state directory (images aside) that others may read.
    static func groupOrOtherAccessible(under state: StateDirectory) throws -> [String] {
        let root = state.root.path
        let paths = [root] + (FileManager.default.subpaths(atPath: root) ?? []).map { root + "/" + $0 }
        return try paths.filter { path in
            guard !path.hasPrefix(state.images.path + "/"), !path.hasPrefix(state.servers.path + "/") else { return false }
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? 0
            return mode & 0o077 != 0
        }
    }

    static func status(_ url: String, authorization: String) async throws -> Int {
        let result = try await runTool("/usr/bin/curl", ["--noproxy", "*", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                         "--max-time", "5", "-H", "Authorization: \(authorization)", url])
        return Int(result.output) ?? -1
    }
}
