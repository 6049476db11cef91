import Foundation
import Logging
import PyreCore

/// Group commit for the log store: receivers and shippers hand records over without
/// waiting, and one thread writes whatever has gathered as one batch with one fsync. While a
/// batch is being synced the next one gathers, so the store keeps up with many senders.
///
/// Memory, and with it what a crash can lose, is bounded by backpressure rather than by
/// buffering: past `busyBytes` stream receivers stop reading (`isBusy`, `whenNotBusy`) and the
/// kernel's window slows their senders; so the backlog is about one batch, no more than the
/// disk commits in one fsync. Only UDP, which cannot be slowed, is refused past `maxBacklogBytes`.
public final class LogWriter: @unchecked Sendable {
    public struct Statistics: Sendable, Equatable {
        /// Records taken into the backlog.
        public var received: UInt64 = 0
        public var committed: UInt64 = 0
        public var batches: UInt64 = 0
        /// Records refused because the backlog was full.
        public var refused: UInt64 = 0
        /// Records lost because a batch could not be written (disk full, I/O error).
        public var failed: UInt64 = 0
        /// The largest backlog (bytes, as `size(of:)` counts them) seen waiting for the writer.
        public var peakBacklogBytes = 0
        /// The same counts by the way the records came.
        public var transports: [LogTransport: TransportCounts] = [:]
    }

    public struct TransportCounts: Sendable, Equatable {
        public var received: UInt64 = 0
        public var stored: UInt64 = 0
        /// Refused: the backlog was full (UDP) or the writer stopping.
        public var refused: UInt64 = 0
        /// Lost with a batch that could not be written.
        public var lost: UInt64 = 0

        public init(received: UInt64 = 0, stored: UInt64 = 0, refused: UInt64 = 0, lost: UInt64 = 0) {
            (self.received, self.stored, self.refused, self.lost) = (received, stored, refused, lost)
        }
    }

    /// Called once the records handed over with it are committed (or failed), with the last one's sequence.
    public typealias Completion = @Sendable (Result<UInt64, any Error>) -> Void

    public let store: LogStore
    /// Past this backlog stream receivers stop reading.
    public let busyBytes: Int
    /// Past this backlog `offer` (UDP) refuses.
    public let maxBacklogBytes: Int
    private let logger: Logger
    // Guards everything below; the writer thread waits on it for work.
    private let condition = NSCondition()
    private var pending: [LogRecord] = []
    /// Where `pending`'s records came from, as consecutive runs.
    private var pendingRuns: [(transport: LogTransport, count: Int)] = []
    private var pendingBytes = 0
    private var waiters: [(upTo: Int, completion: Completion)] = []
    private var notBusy: [@Sendable () -> Void] = []
    private var submittedCount = 0
    private var statistics = Statistics()
    private var started = false
    private var stopping = false
    private var stopped = false

    public init(store: LogStore, busyBytes: Int = 1 << 20, maxBacklogBytes: Int = 16 << 20, logger: Logger) {
        self.store = store
        self.busyBytes = busyBytes
        self.maxBacklogBytes = maxBacklogBytes
        self.logger = logger
    }

    /// Starts the writer's thread; records handed over before wait for it.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started, !stopping else { return }
        started = true
        let thread = Thread { [self] in run() }
        thread.name = "pyre-log-writer"
        thread.start()
    }

    /// Queues records of a receiver that stops reading while `isBusy`, so they are not refused;
    /// `completion` runs on the writer's thread once they are committed. False when the writer stopped.
    @discardableResult
    public func submit(_ records: [LogRecord], from transport: LogTransport, completion: Completion? = nil) -> Bool {
        guard !records.isEmpty else {
            completion?(.success(store.lastSequence))
            return true
        }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else {
            refuse(records.count, from: transport)
            return false
        }
        enqueue(records, from: transport, completion: completion)
        return true
    }

    /// Queues a UDP burst; false (nothing queued) when the backlog is full or the writer stopped.
    public func offer(_ records: [LogRecord], from transport: LogTransport) -> Bool {
        guard !records.isEmpty else { return true }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, pendingBytes + Self.size(of: records) <= maxBacklogBytes || pending.isEmpty else {
            refuse(records.count, from: transport)
            return false
        }
        enqueue(records, from: transport, completion: nil)
        return true
    }

    /// Queues `records` and returns once they are committed, with the last one's sequence.
    public func commit(_ records: [LogRecord], from transport: LogTransport) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            let queued = submit(records, from: transport) { continuation.resume(with: $0) }
            if !queued { continuation.resume(throwing: PyreError(.logs, "the log writer is stopping")) }
        }
    }

    /// Under the lock.
    private func enqueue(_ records: [LogRecord], from transport: LogTransport, completion: Completion?) {
        pending.append(contentsOf: records)
        if pendingRuns.last?.transport == transport {
            pendingRuns[pendingRuns.count - 1].count += records.count
        } else {
            pendingRuns.append((transport, records.count))
        }
        statistics.transports[transport, default: TransportCounts()].received += UInt64(records.count)
        pendingBytes += Self.size(of: records)
        submittedCount += records.count
        statistics.received += UInt64(records.count)
        statistics.peakBacklogBytes = max(statistics.peakBacklogBytes, pendingBytes)
        if let completion { waiters.append((submittedCount, completion)) }
        condition.signal()
    }

    /// Under the lock.
    private func refuse(_ count: Int, from transport: LogTransport) {
        statistics.refused += UInt64(count)
        statistics.transports[transport, default: TransportCounts()].refused += UInt64(count)
    }

    /// Roughly what the records take in memory and on disk.
    private static func size(of records: [LogRecord]) -> Int {
        records.reduce(0) { $0 + $1.message.utf8.count + 128 }
    }

    /// Whether the backlog is past `busyBytes`: a stream receiver stops reading until it is not.
    public var isBusy: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pendingBytes > busyBytes
    }

    /// Runs `resume` as soon as the writer is not busy: at once when it is not, else on the
    /// writer's thread when it takes the backlog as its next batch. No wakeup is missed.
    public func whenNotBusy(_ resume: @escaping @Sendable () -> Void) {
        condition.lock()
        guard pendingBytes > busyBytes, !stopping else {
            condition.unlock()
            return resume()
        }
        notBusy.append(resume)
        condition.unlock()
    }

    public var current: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    /// Commits what is queued, then stops the thread. A writer never started refuses what
    /// was handed to it.
    public func stop() {
        condition.lock()
        stopping = true
        guard started else {
            let refused = waiters
            waiters = []
            for run in pendingRuns { refuse(run.count, from: run.transport) }
            pending = []
            pendingRuns = []
            condition.unlock()
            for waiter in refused { waiter.completion(.failure(PyreError(.logs, "the log writer was stopped before it started"))) }
            return
        }
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
            let runs = pendingRuns
            pending = []
            pendingRuns = []
            pendingBytes = 0
            let resumed = notBusy
            notBusy = []
            condition.unlock()
            // Readers gather the next batch while this one is written and synced.
            for resume in resumed { resume() }
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
            let stored = if case .success = outcome { true } else { false }
            if stored { statistics.committed += UInt64(batch.count) } else { statistics.failed += UInt64(batch.count) }
            for run in runs {
                if stored {
                    statistics.transports[run.transport, default: TransportCounts()].stored += UInt64(run.count)
                } else {
                    statistics.transports[run.transport, default: TransportCounts()].lost += UInt64(run.count)
                }
            }
            let done = waiters.prefix { $0.upTo <= written }
            waiters.removeFirst(done.count)
            condition.unlock()
            for waiter in done { waiter.completion(outcome) }
            condition.lock()
        }
        let resumed = notBusy
        notBusy = []
        stopped = true
        condition.broadcast()
        condition.unlock()
        for resume in resumed { resume() }
    }
}
