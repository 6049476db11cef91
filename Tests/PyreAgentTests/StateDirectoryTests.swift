import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import Testing

struct StateDirectoryTests {
    func temporaryState() throws -> StateDirectory {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-state-\(UUID().uuidString)")
        let state = StateDirectory(root: root)
        try state.create()
        return state
    }

    @Test func separatesPersistentFromVolatile() throws {
        let state = try temporaryState()
        defer { try? FileManager.default.removeItem(at: state.root) }
        #expect(state.eventsDatabase.path.hasPrefix(state.persistent.path + "/"))
        #expect(state.images.path.hasPrefix(state.volatile.path + "/"))
        #expect(state.servers.path.hasPrefix(state.volatile.path + "/"))
    }

    @Test func rootIsTheOwnersAlone() throws {
        let state = try temporaryState()
        defer { try? FileManager.default.removeItem(at: state.root) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: state.root.path)
        try state.create()
        let mode = try FileManager.default.attributesOfItem(atPath: state.root.path)[.posixPermissions] as? Int
        #expect(mode == 0o700, "an older, open state directory is closed too")
    }

    @Test func tokenIsCreatedOnceWithMode0600() throws {
        let state = try temporaryState()
        defer { try? FileManager.default.removeItem(at: state.root) }
        let token = try state.loadOrCreateToken()
        #expect(token.count == 64)
        #expect(try state.loadOrCreateToken() == token)
        let mode = try FileManager.default.attributesOfItem(atPath: state.tokenFile.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func secondAgentLockIsRefusedUntilTheFirstIsGone() throws {
        let state = try temporaryState()
        defer { try? FileManager.default.removeItem(at: state.root) }
        do {
            let first = try AgentLock(file: state.lockFile)
            #expect(throws: PyreError.self) { try AgentLock(file: state.lockFile) }
            withExtendedLifetime(first) {}
        }
        _ = try AgentLock(file: state.lockFile)
    }

    @Test func endpointOfADeadAgentIsReportedAsNotRunning() throws {
        let state = try temporaryState()
        defer { try? FileManager.default.removeItem(at: state.root) }
        // pid 0x7ffffff0 is above any pid_max, so no process has it.
        try AgentEndpoint(url: "http://127.0.0.1:1", pid: 0x7fff_fff0, system: "s", startedAt: Date()).write(to: state.agentFile)
        #expect(throws: PyreError.self) { try AgentEndpoint.read(from: state.agentFile) }
        try AgentEndpoint(url: "http://127.0.0.1:1", pid: getpid(), system: "s", startedAt: Date()).write(to: state.agentFile)
        #expect(try AgentEndpoint.read(from: state.agentFile).pid == getpid())
    }
}
