import Foundation
import GRDB
import GRDBSQLite
import PyreCore
#if canImport(Glibc)
import Glibc
#endif

/// The embedded event store: one SQLite file in write-ahead-log mode, and a commit log.
///
/// An append is durable once its group commit's frame is on disk in the ``CommitLog``; that
/// one synchronous write into a preallocated file is all an appender waits for. Appends that
/// arrive while a commit runs go into the next one (``Coalescer``), checked in queue order
/// against the store's versions and ids (``CommitLogWriter``), so concurrent appenders share
/// one write.
///
/// The SQLite tables are brought up to date right after, by ``CommitLogApplier``, in larger
/// transactions that SQLite does not sync. Every read first waits until SQLite holds all that
/// was acknowledged before it began, so a reader never misses an acknowledged append. Reads run
/// on a GRDB `DatabasePool`: concurrently, each on its own WAL snapshot.
///
/// On opening, what the log holds beyond the tables (a crash came before the applier) is
/// applied and synced, then the log starts afresh.
public final class SQLiteEventStore: StoredEventReading {
    /// The database file.
    public let path: URL
    /// Internal so tests can check the connection settings.
    let database: DatabasePool
    public let appendSignal = AppendSignal()
    let appendCommitter: Coalescer<SQLiteAppend, AppendResult>
    /// What the group commit calls; tests give it batches of their own.
    let writer: CommitLogWriter
    let log: CommitLog
    let unapplied: UnappliedAppends
    private let lookups: SQLiteLookups
    let storedIDs: StoredIDFilter

    /// Bounds one group commit, so a burst does not build one huge frame that keeps the first
    /// appender of the batch waiting for all the others.
    static let batchLimits = Coalescer<SQLiteAppend, AppendResult>.Limits(requests: 256, weight: 4 << 20)

    /// The commit log's directory for the database at `path`.
    static func logDirectory(of path: URL) -> URL {
        URL(fileURLWithPath: path.path + "-commitlog", isDirectory: true)
    }

    /// Opens or creates the database file and its commit log (creating parent directories), and
    /// applies what the log holds beyond the tables.
    /// One store at a time may have the file open, in any process: ``close()`` it before
    /// opening it again.
    public init(path: URL) throws {
        self.path = path
        let directory = path.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw PyreError(.events, "cannot create the event store directory \(directory.path): "
                + "\(error.localizedDescription); check that it is writable")
        }
        // Events are for their owner only. SQLite creates its -wal and -shm files with the
        // database file's permissions, so the file is created here, before SQLite sees it.
        let created = open(path.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard created >= 0 else {
            throw PyreError(.events, "cannot open the event store \(path.path): \(String(cString: strerror(errno))); "
                + "check that it is writable")
        }
        Glibc.close(created)
        var configuration = Configuration()
        configuration.label = "PyreEvents"
        // Another process (a backup tool) may hold the lock for a moment.
        configuration.busyMode = .timeout(10)
        // Replays read the whole file: mapped pages spare a copy per page read.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = 1073741824") }
        do {
            // The pool's WAL set-up makes commits synchronous=NORMAL: they do not sync, the commit log does.
            database = try DatabasePool(path: path.path, configuration: configuration)
            try SQLiteSchema.migrate(database, path: path.path)
            // Checkpoints sync the database files, and those syncs slow the commit log's: at
            // SQLite's default of 1,000 pages they came often enough to cost a quarter of the
            // appends 8 writers made. 16,000 pages (64 MiB) of WAL between checkpoints, and the
            // file cut back to that size after one.
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 16000; PRAGMA journal_size_limit = 67108864")
            }
        } catch let error as PyreError {
            throw error
        } catch {
            throw PyreError(.events, "cannot open the event store at \(path.path): \(Self.describe(error)); "
                + "check that the file is a Pyre event store and its directory is writable")
        }
        log = try CommitLog(directory: Self.logDirectory(of: path))
        let lastPosition = try Self.recover(database, log: log, path: path)
        unapplied = UnappliedAppends(lastPosition: lastPosition)
        let applier = CommitLogApplier(database: database, path: path, log: log, unapplied: unapplied)
        lookups = try SQLiteLookups(path: path)
        storedIDs = StoredIDFilter(storedEvents: Int(lastPosition + 1))
        Self.fill(storedIDs, from: database)
        writer = CommitLogWriter(lookups: lookups, storedIDs: storedIDs, log: log, unapplied: unapplied, applier: applier,
                                 appendSignal: appendSignal, path: path)
        appendCommitter = Coalescer(limits: Self.batchLimits, commit: writer.commit)
    }

    /// Applies the logged appends the tables lack, syncs the database files and restarts the log;
    /// returns the last position (-1 when empty).
    private static func recover(_ database: DatabasePool, log: CommitLog, path: URL) throws -> Int64 {
        let logged = try log.recover()
        do {
            let stored = try database.read { db in try SQLiteAppend.lastPosition(db) } ?? -1
            let missing = logged.filter { $0.lastPosition > stored }
            if let first = missing.first {
                let contiguous = zip(missing, missing.dropFirst()).allSatisfy { $1.firstPosition == $0.lastPosition + 1 }
                guard first.firstPosition == stored + 1, contiguous else {
                    throw PyreError(.events, "the commit log \(log.directory.path) does not continue the event store "
                        + "at \(path.path) (the store ends at position \(stored), the log goes on at "
                        + "\(first.firstPosition)): restore both from the same backup")
                }
                try database.write { db in try SQLiteAppend.insert(missing, db) }
            }
            try CommitLogApplier.syncFiles(of: path)
            let last = missing.last?.lastPosition ?? stored
            try log.restart(at: last + 1)
            return last
        } catch let error as PyreError {
            throw error
        } catch {
            throw storeError(error, operation: "apply the commit log", path: path)
        }
    }

    /// Adds the ids stored now to `filter` in the background, then makes it answer.
    /// If the scan fails, the filter never answers, and every id is looked up in SQLite.
    private static func fill(_ filter: StoredIDFilter, from database: DatabasePool) {
        Task.detached(priority: .background) {
            try? database.read { db in
                let query = try db.makeStatement(sql: "SELECT id FROM events")
                let statement = query.sqliteStatement
                defer { withExtendedLifetime(query) {} }
                var ids: [UUID] = []
                var code = sqlite3_step(statement)
                defer { sqlite3_reset(statement) }
                while code == SQLITE_ROW {
                    let text = UnsafeBufferPointer(start: sqlite3_column_text(statement, 0),
                                                   count: Int(sqlite3_column_bytes(statement, 0)))
                    if let id = UUIDText.parse(utf8: text) { ids.append(id) }
                    if ids.count == 65_536 {
                        filter.insert(ids)
                        ids.removeAll(keepingCapacity: true)
                    }
                    code = sqlite3_step(statement)
                }
                guard code == SQLITE_DONE else { return }
                filter.insert(ids)
                filter.markReady()
            }
        }
    }

    /// Waits until SQLite holds every acknowledged append, syncs the database files and lets go of
    /// the commit log, so another store may open the same file. The store must not be used after.
    public func close() async {
        try? await unapplied.caughtUp()
        try? CommitLogApplier.syncFiles(of: path)
        lookups.close()
        log.close()
    }

    public func append(to stream: String, _ events: [NewEvent], expected: ExpectedVersion) async throws -> AppendResult {
        try EventValidation.checkAppend(to: stream, events, expected: expected)
        let append = SQLiteAppend(stream: stream, events: events, expected: expected, now: Date())
        return try await appendCommitter.submit(append, weight: append.byteCount)
    }

    public func read(stream: String, from version: Int64, limit: Int,
                     direction: ReadDirection) async throws -> [RecordedEvent] {
        joined(try await visitReads(stream: stream, from: version, limit: limit, direction: direction) { db, sql, arguments, count in
            let events = try SQLiteRows.recordedEvents(db, sql: sql, arguments: arguments, limit: count, stream: stream)
            return (events, events.count)
        })
    }

    public func readAll(from position: Int64, limit: Int) async throws -> [RecordedEvent] {
        joined(try await visitReads(stream: nil, from: position, limit: limit, direction: .forward) { db, sql, arguments, count in
            let events = try SQLiteRows.recordedEvents(db, sql: sql, arguments: arguments, limit: count)
            return (events, events.count)
        })
    }

    public func visitStored<Visitor: StoredEventVisitor>(_ visitor: Visitor.Type, stream: String?, from start: Int64,
                                                         limit: Int, direction: ReadDirection) async throws -> [Visitor] {
        try await visitReads(stream: stream, from: start, limit: limit, direction: direction) { db, sql, arguments, _ in
            try SQLiteRows.visitStored(db, sql: sql, arguments: arguments, stream: stream)
        }
    }

    private func joined(_ parts: [[RecordedEvent]]) -> [RecordedEvent] {
        parts.count == 1 ? parts[0] : Array(parts.joined())
    }

    /// A read of `stream` (nil: `$all`, forward only) checked and run in parts, each part's rows
    /// given to `part` with the SQL selecting them.
    private func visitReads<Part: Sendable>(
        stream: String?, from start: Int64, limit: Int, direction: ReadDirection,
        _ part: @escaping @Sendable (Database, String, StatementArguments, Int) throws -> (Part, rows: Int)
    ) async throws -> [Part] {
        if let stream { try EventValidation.checkStreamName(stream) }
        let what = stream.map { "stream '\($0)'" } ?? StreamNames.all
        try EventValidation.checkRead(from: start, limit: limit, what: what)
        return try await perform("read \(what)") {
            switch direction {
            case .forward:
                return try await readForward(from: start, limit: limit, stream: stream, part)
            case .backward:
                let sql = """
                    SELECT \(SQLiteRows.columnsOfKnownStream) FROM events WHERE stream = ? AND version <= ?
                    ORDER BY version DESC LIMIT ?
                    """
                return [try await database.read { db in try part(db, sql, [stream, start, limit], limit) }.0]
            }
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
            try await database.read { db in try SQLiteAppend.lastPosition(db) }
        }
    }

    /// Waits until the tables hold every acknowledged append, then copies the write-ahead log
    /// into the database file, as the store does by itself whenever appends pause.
    public func checkpoint() async throws {
        try await perform("checkpoint the write-ahead log") {
            _ = try await database.writeWithoutTransaction { db in try db.checkpoint(.passive) }
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
    private func readForward<Part: Sendable>(
        from start: Int64, limit: Int, stream: String?,
        _ part: @escaping @Sendable (Database, String, StatementArguments, Int) throws -> (Part, rows: Int)
    ) async throws -> [Part] {
        let sql = stream == nil
            ? "SELECT \(SQLiteRows.columns) FROM events WHERE position BETWEEN ? AND ? ORDER BY position LIMIT ?"
            : "SELECT \(SQLiteRows.columnsOfKnownStream) FROM events WHERE stream = ? AND version BETWEEN ? AND ? "
                + "ORDER BY version LIMIT ?"
        let half = limit / 2
        let (middle, middleOverflow) = start.addingReportingOverflow(Int64(half))
        let end = start.addingReportingOverflow(Int64(limit) - 1)
        let last = end.overflow ? Int64.max : end.partialValue
        @Sendable func range(_ lower: Int64, _ upper: Int64, _ count: Int) throws -> (Part, rows: Int) {
            try database.read { db in
                let bounds: StatementArguments = [lower, upper, count]
                return try part(db, sql, stream.map { [$0] + bounds } ?? bounds, count)
            }
        }
        guard limit >= Self.splitReadThreshold, !middleOverflow else { return [try range(start, last, limit).0] }
        async let second = range(middle, last, limit - half)
        let first = try range(start, middle - 1, half)
        guard first.rows == half else { return [first.0] }
        return [first.0, try await second.0]
    }

    /// Runs a database access once SQLite holds every append acknowledged so far, turning SQLite
    /// failures into `PyreError`s that name the operation and the file; the store's own errors
    /// pass through unchanged.
    private func perform<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            try await unapplied.caughtUp()
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
