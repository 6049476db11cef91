import Foundation
import Logging
import PyreCore
import PyreTesting
import Testing
@testable import PyreLogs

#if canImport(Glibc)
import Glibc
#endif

/// Stream receivers stop reading while the writer is busy, so what waits in memory (and what
/// a SIGKILL loses) stays about one batch however fast senders write.
@Suite struct BackpressureTests {
    @Test(.timeLimit(.minutes(2)))
    func aFloodOfTCPSendersKeepsTheBacklogNearOneBatch() async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let connections = 4, perConnection = 25_000
        let streams = try (0..<connections).map { _ in try LoopbackStream(port: fixture.tcpPort) }
        let message = "<134>1 2026-12-01T10:00:00Z host bench - - - " + String(repeating: "x", count: 250)
        let frames = String(repeating: "\(message.utf8.count) \(message)", count: perConnection)
        DispatchQueue.concurrentPerform(iterations: connections) { streams[$0].send(frames) }
        streams.forEach { $0.shutdownWriting() }
        let deadline = ContinuousClock.now + .seconds(90)
        while fixture.writer.current.committed < UInt64(connections * perConnection) {
            try #require(ContinuousClock.now < deadline, "committed \(fixture.writer.current.committed)")
            try await Task.sleep(for: .milliseconds(10))
        }
        // Past `busyBytes` each connection hands over at most the one read it is in (4 × 64 KiB).
        let bound = fixture.writer.busyBytes + connections * (512 << 10)
        #expect(fixture.writer.current.peakBacklogBytes <= bound)
        #expect(fixture.writer.current.refused == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func aPausedReaderIsResumedWhenTheWriterTakesItsBacklog() async throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let writer = LogWriter(store: try LogStore(configuration: .init(directory: directory.url)), busyBytes: 0,
                               logger: Logger(label: "test"))
        writer.start()
        defer { writer.stop() }
        // With nothing queued the writer is not busy: resumed at once.
        await withCheckedContinuation { resumed in writer.whenNotBusy { resumed.resume() } }
        // Queued past the (zero) bound: busy until the writer takes the batch, then resumed.
        await withCheckedContinuation { resumed in
            writer.submit([LogRecord(receivedAt: 0, message: "one")], from: .tcp)
            writer.whenNotBusy { resumed.resume() }
        }
        #expect(writer.current.received == 1)
    }
}
