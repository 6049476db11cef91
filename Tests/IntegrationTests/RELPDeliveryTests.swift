import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// RELP end to end: a real rsyslog forwards with `omrelp` to the agent's RELP receiver through
/// a relay that records every acknowledgement; the agent is killed with SIGKILL mid-stream.
@Suite("RELP delivery", .serialized)
struct RELPDeliveryTests {
    static let rsyslogd = "/usr/sbin/rsyslogd"
    static let omrelp = "/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so"
    static let messages = 40_000

    /// Nothing acknowledged before the SIGKILL is missing afterwards, and rsyslog resends the
    /// rest once the agent is back, so all messages arrive (some twice: those stored but not
    /// yet acknowledged when the agent died).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: rsyslogd) && FileManager.default.fileExists(atPath: omrelp),
                   "scripts/test installs rsyslog-relp"))
    func nothingAcknowledgedIsLostToSIGKILLAndRsyslogResendsTheRest() async throws {
        let system = try TestSystem(name: "relpcrash")
        defer { system.cleanUp() }
        var agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 3)
        let endpoint = try AgentEndpoint.read(from: system.state.agentFile)
        let (host, relpPort) = try #require(endpoint.relp.flatMap(split))
        let work = system.directory.appendingPathComponent("rsyslog")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let acked = work.appendingPathComponent("acked")
        let (relayPort, inputPort) = (try freeLoopbackPort(), try freeLoopbackPort())
        let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")
        let relay = try start("/usr/bin/python3", [scripts.appendingPathComponent("relp_ack_recorder.py").path, "\(relayPort)",
                                                   host, "\(relpPort)", acked.path])
        defer { stop(relay) }
        let rsyslog = try startRsyslog(in: work, inputPort: inputPort, relayPort: relayPort)
        defer { stop(rsyslog) }
        try await waitUntilListening(port: inputPort)

        let lines = work.appendingPathComponent("lines")
        try (0..<Self.messages).map { "relp n=\($0)\n" }.joined().write(to: lines, atomically: true, encoding: .utf8)
        let send = Task {
            try await runTool("/usr/bin/logger", ["--server", "127.0.0.1", "--port", "\(inputPort)", "--tcp", "--rfc5424",
                                                  "--tag", "relptest", "--file", lines.path], includeErrors: true)
        }
        // Kill the agent mid-stream: once a tenth of the messages are acknowledged.
        let deadline = ContinuousClock.now + .seconds(120)
        while try acknowledgedNumbers(acked).count < Self.messages / 10 {
            try #require(ContinuousClock.now < deadline, "RELP delivery too slow before the kill")
            try await Task.sleep(for: .milliseconds(10))
        }
        agent.signal(SIGKILL)
        agent.process.waitUntilExit()
        let killedAt = Date()
        // Let the relay take in what was already on its way back.
        try await Task.sleep(for: .milliseconds(500))
        let acknowledged = try acknowledgedNumbers(acked)
        #expect(!acknowledged.isEmpty && acknowledged.count < Self.messages, "the kill was not mid-stream")

        agent = try AgentProcess(system, isolation: "process")
        try await agent.waitForHealthy(count: 3)
        var stored = try await relpRecords(system)
        while Set(stored.map(\.number)).count < Self.messages {
            try #require(ContinuousClock.now < deadline + .seconds(60),
                         "only \(Set(stored.map(\.number)).count) of \(Self.messages) arrived after the restart")
            try await Task.sleep(for: .milliseconds(200))
            stored = try await relpRecords(system)
        }
        _ = try await send.value
        let storedBeforeKill = Set(stored.filter { $0.receivedAt < killedAt }.map(\.number))
        let lost = acknowledged.subtracting(storedBeforeKill)
        #expect(lost.isEmpty, "acknowledged before the SIGKILL but not stored: \(lost.sorted().prefix(20))")
        #expect(Set(stored.map(\.number)) == Set(0..<Self.messages))
        let duplicates = stored.count - Self.messages
        print("RELP: \(acknowledged.count) acknowledged before the kill, \(storedBeforeKill.count) stored before it, "
              + "\(duplicates) stored twice (resent after the restart)")
        try await agent.stop()
    }

    private func startRsyslog(in work: URL, inputPort: Int, relayPort: Int) throws -> Process {
        // Resend forever, one second apart, from a queue that holds the whole stream.
        let configuration = """
            global(workDirectory="\(work.path)")
            module(load="imtcp")
            module(load="omrelp")
            input(type="imtcp" address="127.0.0.1" port="\(inputPort)")
            action(type="omrelp" target="127.0.0.1" port="\(relayPort)" template="RSYSLOG_SyslogProtocol23Format"
                   queue.type="LinkedList" queue.size="100000" action.resumeRetryCount="-1" action.resumeInterval="1")
            """
        let file = work.appendingPathComponent("rsyslog.conf")
        try configuration.write(to: file, atomically: true, encoding: .utf8)
        return try start(Self.rsyslogd, ["-n", "-f", file.path, "-i", work.appendingPathComponent("pid").path])
    }

    private struct Stored { var number: Int; var receivedAt: Date }

    private func relpRecords(_ system: TestSystem) async throws -> [Stored] {
        let client = try ControlClient(state: system.state)
        var records: [Stored] = []
        var after: UInt64 = 0
        while true {
            let page = try await client.logs([("after", "\(after)"), ("limit", "10000")]).records
            guard let last = page.last else { return records }
            after = last.sequence
            records += page.filter { $0.appName == "relptest" }.compactMap { line in
                number(line.message).map { Stored(number: $0, receivedAt: line.receivedAt) }
            }
        }
    }

    /// The messages the relay saw acknowledged, one line each.
    private func acknowledgedNumbers(_ file: URL) throws -> Set<Int> {
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").compactMap(number))
    }

    /// `n` of a message `relp n=N` (with the relay's rest of the syslog line around it).
    private func number(_ text: some StringProtocol) -> Int? {
        guard let range = text.range(of: "relp n=") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    private func start(_ executable: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private func stop(_ process: Process) {
        // The test process blocks SIGTERM and its children inherit that mask.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private func waitUntilListening(port: Int) async throws {
        for _ in 0..<200 {
            let probe = try await runTool("/usr/bin/python3", ["-c", "import socket; socket.create_connection(('127.0.0.1', \(port)), 1).close()"],
                                          includeErrors: true)
            if probe.status == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("rsyslog does not listen on \(port)")
    }

    private func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        return (String(address[..<colon]), port)
    }
}
