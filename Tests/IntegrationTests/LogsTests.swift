import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The log store end to end: crash safety of the agent under syslog load.
@Suite("Logs", .serialized)
struct LogsTests {
    /// Every record the API reported committed before a SIGKILL is there after the restart,
    /// with contiguous sequence numbers, and each connection's messages form an unbroken prefix.
    @Test func everyCommittedRecordSurvivesSIGKILLOfTheAgent() async throws {
        let system = try TestSystem(name: "logcrash")
        defer { system.cleanUp() }
        var agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 3)
        let endpoint = try AgentEndpoint.read(from: system.state.agentFile)
        let (host, port) = try #require(endpoint.syslog.flatMap(split))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/syslog_load.py")
        let load = Task { try await runTool("/usr/bin/env", ["python3", script.path, host, "\(port)", "4"], includeErrors: true) }
        var committed: UInt64 = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while committed < 3_000 {
            try #require(ContinuousClock.now < deadline, "only \(committed) records committed after 60 s of load")
            try await Task.sleep(for: .milliseconds(50))
            committed = try await page(system, after: nil, limit: 1).lastSequence
        }
        agent.signal(SIGKILL)
        agent.process.waitUntilExit()
        _ = try await load.value
        agent = try AgentProcess(system, isolation: "process")
        try await agent.waitForHealthy(count: 3)
        var records: [LogLine] = []
        while true {
            let next = try await page(system, after: records.last?.sequence ?? 0, limit: 10_000).records
            if next.isEmpty { break }
            records += next
        }
        #expect(records.map(\.sequence) == Array(1...UInt64(records.count)))
        #expect(UInt64(records.count) >= committed)
        var counters: [String: [Int]] = [:]
        for record in records where record.appName == "loadtest" {
            let fields = record.message.split(separator: " ")
            #expect(fields.count == 2 && record.parseError == nil, "\(record.message)")
            counters[String(fields[0]), default: []].append(Int(fields[1].dropFirst(2)) ?? -1)
        }
        #expect(counters.count == 4)
        for (connection, numbers) in counters {
            #expect(numbers == Array(0..<numbers.count), "\(connection) arrived with gaps or out of order")
        }
        try await agent.stop()
    }

    private func page(_ system: TestSystem, after: UInt64?, limit: Int) async throws -> LogsPage {
        let client = try ControlClient(state: system.state)
        return try await client.logs((after.map { [("after", "\($0)")] } ?? []) + [("limit", "\(limit)")])
    }

    private func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        return (String(address[..<colon]), port)
    }
}
