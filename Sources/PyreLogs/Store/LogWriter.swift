import Foundation
import Logging
import PyreCore

/// Group commit for the log store: receivers and shippers hand records over without
/// waiting, and one thread writes whatever has gathered as one batch with one fsync. While a
/// batch is being synced the next one gathers, so the store keeps up with many senders.
/// Memory is bounded: past `maxBacklogBytes`, `submit` refuses (UDP drops and counts; TCP
/// stops reading until the backlog drains).
public final class LogWriter: @unchecked Sendable {
    public struct Statistics: Sendable, Equatable {
        public var committed: UInt64 = 0
        public var batches: UInt64 = 0
        /// Records refused because the backlog was full.
        public var refused: UInt64 = 0
        /// Records lost because a batch could not be written (disk full, I/O error).
        public var failed: UInt64 = 0
    }

    public let store: LogStore
    public let maxBacklogBytes: Int
    private let logger: Logger
    // Guards everything below; the writer thread waits on it for work.
    private let condition = NSCondition()
    private var pending: [LogRecord] = []
    private var pendingBytes = 0
    private var waiters: [(upTo: Int, continuation: CheckedContinuation<UInt64, any Error>)] = []
    private var submittedCount = 0
    private var statistics = Statistics()
    private var stopping = false
    private var stopped = false

    public init(store: LogStore, maxBacklogBytes: Int = 64 << 20, logger: Logger) {
        self.store = store
        self.maxBacklogBytes = maxBacklogBytes
        self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = "pyre-log-writer"
        thread.start()
    }

    /// Queues `records`; false (nothing queued) when the backlog is full or the writer stopped.
    @discardableResult
    public func submit(_ records: [LogRecord]) -> Bool {
        guard !records.isEmpty else { return true }
        let size = Self.size(of: records)
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, pendingBytes + size <= maxBacklogBytes || pending.isEmpty else {
            statistics.refused += UInt64(records.count)
            return false
        }
        pending.append(contentsOf: records)
        pendingBytes += size
        submittedCount += records.count
        condition.signal()
        return true
    }

    /// Queues `records` and returns once they are committed, with the last one's sequence.
    public func commit(_ records: [LogRecord]) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !stopping else {
                continuation.resume(throwing: PyreError(.logs, "the log writer is stopping"))
                return
            }
            pending.append(contentsOf: records)
            pendingBytes += Self.size(of: records)
            submittedCount += records.count
            waiters.append((submittedCount, continuation))
            condition.signal()
        }
    }

    /// Roughly what the records take in memory and on disk.
    private static func size(of records: [LogRecord]) -> Int {
        records.reduce(0) { $0 + $1.message.utf8.count + 128 }
    }

    /// Whether the backlog is past half its bound: a TCP receiver stops reading until it is not.
    public var isBusy: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pendingBytes > maxBacklogBytes / 2
    }

    public var current: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    /// Commits what is queued, then stops the thread.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var written = 0
        condition.lock()
        while true {
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping { break }
            let batch = pending
            pending = []
            pendingBytes = 0
            condition.unlock()
            var outcome: Result<UInt64, any Error>
            do {
                outcome = .success(try store.append(batch)?.upperBound ?? store.lastSequence)
            } catch {
                logger.error("log batch of \(batch.count) records not stored: \(error)")
                outcome = .failure(error)
            }
            written += batch.count
            condition.lock()
            statistics.batches += 1
            if case .success = outcome {
                statistics.committed += UInt64(batch.count)
            } else {
                statistics.failed += UInt64(batch.count)
            }
            let done = waiters.filter { $0.upTo <= written }
            waiters.removeAll { $0.upTo <= written }
            condition.unlock()
            for waiter in done { waiter.continuation.resume(with: outcome) }
            condition.lock()
        }
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
