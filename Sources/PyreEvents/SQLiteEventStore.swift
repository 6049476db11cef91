import Foundation
import GRDB
import PyreCore

/// The embedded event store: one SQLite file in write-ahead-log mode.
///
/// It uses a GRDB `DatabasePool` rather than a `DatabaseQueue`: the pool's single writer
/// connection serializes appends (which keeps version checks and gap-free positions simple
/// and makes each commit one IMMEDIATE transaction), while reads (replays, `$all` readers,
/// the HTTP API) run concurrently on their own WAL snapshots and never wait for a commit
/// or see half of one.
///
/// Appends are group-committed: those that arrive while a commit runs are committed together
/// in the next transaction, one savepoint each, so concurrent appenders share one fsync
/// (``SQLiteBatchWriter``). Each is still acknowledged only after the COMMIT that holds it.
public final class SQLiteEventStore: EventStore {
    /// The database file.
    public let path: URL
    /// Internal so tests can check the connection settings.
    let database: DatabasePool
    public let appendSignal = AppendSignal()
    /// Nil when group commit is off: then every append is its own transaction.
    let appendCommitter: GroupCommitter<SQLiteAppend, AppendResult>?

    /// Bounds one group commit, so a burst does not build one huge transaction that keeps
    /// the first appender of the batch waiting for all the others.
    static let batchLimits = GroupCommitter<SQLiteAppend, AppendResult>.Limits(requests: 256, weight: 4 << 20)

    /// Opens or creates the database file (creating parent directories), WAL mode,
    /// synchronous=FULL so an acknowledged append is on disk.
    ///
    /// - Parameter groupCommit: false commits every append in a transaction of its own, as
    ///   a baseline to measure group commit against; both are equally durable.
    public init(path: URL, groupCommit: Bool = true) throws {
        self.path = path
        let directory = path.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw PyreError(.events, "cannot create the event store directory \(directory.path): "
                + "\(error.localizedDescription); check that it is writable")
        }
        var configuration = Configuration()
        configuration.label = "PyreEvents"
        // Another process (a second agent, a backup tool) may hold the lock for a moment.
        configuration.busyMode = .timeout(10)
        // Replays read the whole file: mapped pages spare a copy per page read.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = 1073741824") }
        do {
            database = try DatabasePool(path: path.path, configuration: configuration)
            // FULL syncs the WAL on every commit, so an append that returned survives power loss.
            // Set on the writer after opening: the pool's WAL set-up lowers it to NORMAL.
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try SQLiteSchema.migrate(database, path: path.path)
        } catch let error as PyreError {
            throw error
        } catch {
            throw PyreError(.events, "cannot open the event store at \(path.path): \(Self.describe(error)); "
                + "check that the file is a Pyre event store and its directory is writable")
        }
        let writer = SQLiteBatchWriter(database: database, path: path, appendSignal: appendSignal)
        appendCommitter = groupCommit ? GroupCommitter(limits: Self.batchLimits, commit: writer.commit) : nil
    }

    public func append(to stream: String, _ events: [NewEvent], expected: ExpectedVersion) async throws -> AppendResult {
        try EventValidation.checkAppend(to: stream, events, expected: expected)
        let append = SQLiteAppend(stream: stream, events: events, expected: expected, now: Date())
        if let appendCommitter {
            return try await appendCommitter.submit(append, weight: append.byteCount)
        }
        let result = try await perform("append to '\(stream)'") {
            try await database.write { db in try append.run(db) }
        }
        appendSignal.pulse()
        return result
    }

    public func read(stream: String, from version: Int64, limit: Int,
                     direction: ReadDirection) async throws -> [RecordedEvent] {
        try EventValidation.checkStreamName(stream)
        try EventValidation.checkRead(from: version, limit: limit, what: "stream '\(stream)'")
        return try await perform("read stream '\(stream)'") {
            switch direction {
            case .forward:
                try await readForward(from: version, limit: limit, stream: stream)
            case .backward:
                try await database.read { db in
                    try SQLiteRows.recordedEvents(db, sql: """
                        SELECT \(SQLiteRows.columnsOfKnownStream) FROM events WHERE stream = ? AND version <= ?
                        ORDER BY version DESC LIMIT ?
                        """, arguments: [stream, version, limit], limit: limit, stream: stream)
                }
            }
        }
    }

    public func readAll(from position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try EventValidation.checkRead(from: position, limit: limit, what: StreamNames.all)
        return try await perform("read \(StreamNames.all)") {
            try await readForward(from: position, limit: limit, stream: nil)
        }
    }

    public func version(of stream: String) async throws -> Int64? {
        try EventValidation.checkStreamName(stream)
        return try await perform("read the version of '\(stream)'") {
            try await database.read { db in try SQLiteAppend.currentVersion(db, stream: stream) }
        }
    }

    public func lastPosition() async throws -> Int64? {
        try await perform("read the last position") {
            try await database.read { db in try Int64.fetchOne(db, sql: "SELECT max(position) FROM events") }
        }
    }

    public func saveSnapshot(_ snapshot: Snapshot) async throws {
        try EventValidation.checkSnapshot(snapshot)
        let now = SQLiteRows.microseconds(Date())
        try await perform("save a snapshot of '\(snapshot.stream)'") {
            try await database.write { db in
                let current = try SQLiteAppend.currentVersion(db, stream: snapshot.stream)
                try EventValidation.checkSnapshot(snapshot, streamVersion: current)
                try db.execute(sql: """
                    INSERT INTO snapshots (stream, version, data, taken_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (stream) DO UPDATE SET version = excluded.version, data = excluded.data,
                        taken_at = excluded.taken_at
                    WHERE excluded.version >= snapshots.version
                    """, arguments: [snapshot.stream, snapshot.version, snapshot.data, now])
            }
        }
    }

    public func latestSnapshot(of stream: String) async throws -> Snapshot? {
        try EventValidation.checkStreamName(stream)
        return try await perform("read the snapshot of '\(stream)'") {
            try await database.read { db in
                try Row.fetchOne(db, sql: "SELECT version, data FROM snapshots WHERE stream = ?", arguments: [stream])
                    .map { Snapshot(stream: stream, version: $0[0], data: $0[1]) }
            }
        }
    }

    /// Forward reads of at least this many events are split in two halves, read at once on two
    /// of the pool's connections: a replay then decodes on both cores.
    static let splitReadThreshold = 512

    /// Up to `limit` events whose key is `start` or more, in key order: the version of `stream`'s
    /// events, or the global position when `stream` is nil.
    ///
    /// Keys are gap-free, so the events a read wants are exactly those with keys in
    /// `start ..< start + limit`, and each half reads its own part of that range. The halves
    /// may see different commits; a first half that comes back short already reached the end,
    /// so the second is dropped, and what is returned is always a prefix of the store.
    private func readForward(from start: Int64, limit: Int, stream: String?) async throws -> [RecordedEvent] {
        let sql = stream == nil
            ? "SELECT \(SQLiteRows.columns) FROM events WHERE position BETWEEN ? AND ? ORDER BY position LIMIT ?"
            : "SELECT \(SQLiteRows.columnsOfKnownStream) FROM events WHERE stream = ? AND version BETWEEN ? AND ? "
                + "ORDER BY version LIMIT ?"
        let half = limit / 2
        let (middle, middleOverflow) = start.addingReportingOverflow(Int64(half))
        let end = start.addingReportingOverflow(Int64(limit) - 1)
        let last = end.overflow ? Int64.max : end.partialValue
        @Sendable func range(_ lower: Int64, _ upper: Int64, _ count: Int) throws -> [RecordedEvent] {
            try database.read { db in
                let bounds: StatementArguments = [lower, upper, count]
                return try SQLiteRows.recordedEvents(
                    db, sql: sql, arguments: stream.map { [$0] + bounds } ?? bounds, limit: count, stream: stream)
            }
        }
        guard limit >= Self.splitReadThreshold, !middleOverflow else { return try range(start, last, limit) }
        async let second = range(middle, last, limit - half)
        var events = try range(start, middle - 1, half)
        guard events.count == half else { return events }
        events.append(contentsOf: try await second)
        return events
    }

    /// Runs a database access, turning SQLite failures into `PyreError`s that name the
    /// operation and the file; the store's own errors pass through unchanged.
    private func perform<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw Self.storeError(error, operation: operation, path: path)
        }
    }

    /// A SQLite failure as a `PyreError` that names the operation and the file; other errors unchanged.
    static func storeError(_ error: any Error, operation: String, path: URL) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        return PyreError(.events, "cannot \(operation) in the event store at \(path.path): "
            + "\(describe(error)); check the disk and the file's permissions")
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "SQLite error \(error.resultCode)"
        }
        return error.localizedDescription
    }
}
