import Foundation
import Logging
import PyreCore
import PyreLogs
import PyreTesting
import Synchronization
import Testing
@testable import PyreLocal

/// The shipper turns each line a server wrote into one record, exactly once across restarts.
@Suite struct OutputShipperTests {
    final class Collected: Sendable {
        let records = Mutex<[LogRecord]>([])
        var sink: OutputShipper.Sink { { [self] new in records.withLock { $0 += new } } }
        var lines: [String] { records.withLock { $0.map { "\($0.source) \($0.message)" } } }
    }

    static func server(in root: URL) throws -> URL {
        let directory = root.appendingPathComponent("web-3-abcd")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let info = ServerInfo(id: ServerID("web-3-abcd"), service: "web", generation: 3, image: ImageDigest("sha256:00"),
                              configHash: "c", address: "127.0.0.2", port: 8080, createdAt: Date(), state: .running)
        try ServerRecord(info: info, isolation: .process, pid: 0, startTime: 0).save(in: directory)
        return directory
    }

    static func append(_ text: String, to stream: LogRecord.Source, in directory: URL) throws {
        let file = OutputShipper.file(stream, in: directory)
        if !FileManager.default.fileExists(atPath: file.path) { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @Test func shipsEachLineOnceAcrossRestartsAndTheUnfinishedLastOneAtTheEnd() async throws {
        let root = try TemporaryDirectory(prefix: "pyre-shipper")
        defer { root.remove() }
        let directory = try Self.server(in: root.url)
        let collected = Collected()
        try Self.append("one\ntwo\npart", to: .stdout, in: directory)
        try Self.append("oops\r\n", to: .stderr, in: directory)
        let first = OutputShipper(serversDirectory: root.url, sink: collected.sink, logger: Logger(label: "test"))
        let running = Task { await first.run(every: .milliseconds(10)) }
        try await waitUntil { collected.lines.count == 3 }
        running.cancel()
        await running.value
        #expect(collected.lines == ["stdout one", "stdout two", "stderr oops"])
        let record = try #require(collected.records.withLock { $0.first })
        #expect(record.service == "web" && record.server == "web-3-abcd" && record.generation == 3)
        #expect(record.appName == "web" && record.hostname == "web-3-abcd" && record.severity == .info)
        #expect(collected.records.withLock { $0.last?.severity } == .err)

        // A new shipper (the agent restarted) carries on from the saved offsets.
        try Self.append("ial\nthree\n", to: .stdout, in: directory)
        let second = OutputShipper(serversDirectory: root.url, sink: collected.sink, logger: Logger(label: "test"))
        try Self.append("last words", to: .stdout, in: directory)
        await second.finish(directory)
        #expect(collected.lines == ["stdout one", "stdout two", "stderr oops", "stdout partial", "stdout three",
                                    "stdout last words"])
    }

    @Test func aLineOverTheLimitIsCutAndMarkedAndItsRestSkipped() async throws {
        let root = try TemporaryDirectory(prefix: "pyre-shipper")
        defer { root.remove() }
        let directory = try Self.server(in: root.url)
        let collected = Collected()
        try Self.append(String(repeating: "x", count: OutputShipper.lineLimit + 10) + "\nnext\n", to: .stdout, in: directory)
        await OutputShipper(serversDirectory: root.url, sink: collected.sink, logger: Logger(label: "test")).finish(directory)
        let records = collected.records.withLock { $0 }
        // The rest of the long line is skipped, as the syslog framer skips the rest of a long frame.
        #expect(records.map(\.message.count) == [OutputShipper.lineLimit, 4])
        #expect(records.map(\.truncated) == [true, false])
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }
}

extension OutputShipperTests {
    /// `finish` while a periodic pass is shipping the same server waits for it, ships the rest
    /// once, and returns (an agent's shutdown destroys servers while the shipper runs).
    @Test func finishDuringAPeriodicPassShipsEachLineOnce() async throws {
        let root = try TemporaryDirectory(prefix: "pyre-shipper")
        defer { root.remove() }
        let directory = try Self.server(in: root.url)
        let collected = Collected()
        let slowSink: OutputShipper.Sink = { records in
            try await Task.sleep(for: .milliseconds(100))
            try await collected.sink(records)
        }
        let shipper = OutputShipper(serversDirectory: root.url, sink: slowSink, logger: Logger(label: "test"))
        let lines = (1...50).map { "line \($0)" }
        try Self.append(lines.joined(separator: "\n") + "\n", to: .stdout, in: directory)
        let running = Task { await shipper.run(every: .milliseconds(1)) }
        for round in 0..<5 {
            try Self.append("more \(round)\n", to: .stdout, in: directory)
            await shipper.finish(directory)
        }
        running.cancel()
        await running.value
        #expect(collected.lines == (lines + (0..<5).map { "more \($0)" }).map { "stdout \($0)" })
    }
}
