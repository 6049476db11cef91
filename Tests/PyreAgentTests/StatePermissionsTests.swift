import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreEvents
import PyreLogs
import Testing

/// Events and log lines are the owner's alone: no local user reads them without a token.
struct StatePermissionsTests {
    @Test func persistentDataIsReadableOnlyByItsOwner() async throws {
        let state = StateDirectory(root: FileManager.default.temporaryDirectory
            .appendingPathComponent("pyre-state-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: state.root) }
        try state.create()
        _ = try state.loadOrCreateToken()
        let events = try SQLiteEventStore(path: state.eventsDatabase)
        _ = try await events.append(to: "book", [NewEvent(type: "Added", data: Data("{}".utf8))], expected: .any)
        let logs = try LogStore(configuration: LogStoreConfiguration(directory: state.logs, segmentBytes: 4096))
        let origin = LogOrigin(service: "web", server: "web-1-abcd", generation: 1)
        for index in 0..<100 {
            _ = try logs.append([LogRecord(line: "line \(index) of the log", source: .stdout, origin: origin)])
        }
        // While both are open: SQLite removes its -wal and -shm files at close.
        let modes = try Self.modes(under: state.root, skipping: state.volatile)
        logs.close()
        await events.close()

        #expect(modes.keys.contains { $0.hasSuffix(".seg") }, "the log store wrote no segment; the test checks nothing")
        #expect(modes.keys.contains { $0.hasSuffix("events.sqlite-wal") })
        #expect(modes.filter { $0.value & 0o077 != 0 } == [:])
    }

    @Test func anExistingStateDirectoryIsTightenedAtStart() throws {
        let state = StateDirectory(root: FileManager.default.temporaryDirectory
            .appendingPathComponent("pyre-state-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: state.root) }
        try FileManager.default.createDirectory(at: state.logs, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: state.root.path)
        let old = state.logs.appendingPathComponent("00000000000000000001.seg")
        _ = FileManager.default.createFile(atPath: old.path, contents: Data(), attributes: [.posixPermissions: 0o644])

        try state.create()

        let modes = try Self.modes(under: state.root, skipping: state.volatile)
        #expect(modes[old.path] == 0o600)
        #expect(modes[state.root.path] == 0o700)
        #expect(modes.filter { $0.value & 0o077 != 0 } == [:])
    }

    /// Permission bits of `root` and everything under it, except `skipped`'s contents
    /// (images keep the modes of their files).
    static func modes(under root: URL, skipping skipped: URL) throws -> [String: Int] {
        var modes: [String: Int] = [:]
        let paths = [root.path] + (FileManager.default.subpaths(atPath: root.path) ?? []).map { root.path + "/" + $0 }
        for path in paths where !path.hasPrefix(skipped.path + "/") {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            modes[path] = (attributes[.posixPermissions] as? Int) ?? 0
        }
        return modes
    }
}
