import Foundation
import GRDB
import PyreCore
#if canImport(Glibc)
import Glibc
#endif

/// Brings the SQLite tables up to date with the commit log, off the appenders' path: it inserts
/// what was logged in large transactions that SQLite does not sync (the log already made them
/// durable), then lets the readers waiting for them go on.
///
/// When a full log segment is applied, the database files are synced and the segment deleted:
/// from then on SQLite alone holds those appends durably. Like the group commit, the applier
/// runs as a task only while there is work.
final class CommitLogApplier: Sendable {
    /// Events inserted per SQLite transaction at most.
    static let eventsPerTransaction = 4_096

    let database: DatabasePool
    let path: URL
    let log: CommitLog
    let unapplied: UnappliedAppends

    init(database: DatabasePool, path: URL, log: CommitLog, unapplied: UnappliedAppends) {
        self.database = database
        self.path = path
        self.log = log
        self.unapplied = unapplied
    }

    /// Called by the writer when ``UnappliedAppends/add(_:)`` says nobody is applying.
    func start() {
        Task { await self.run() }
    }

    /// How long the applier lets appends gather before a transaction while nobody reads.
    /// Fewer, larger transactions write each hot B-tree page once for many events: small ones
    /// wrote about five pages per event, and that I/O slowed the commit log's own syncs. A
    /// reader that waits for the tables ends the gathering at once.
    static let gathering = Duration.milliseconds(50)

    private func run() async {
        while true {
            let seen = unapplied.readerArrived.pulses
            if !unapplied.isUrgent(events: Self.eventsPerTransaction) {
                await unapplied.readerArrived.wait(after: seen, timeout: Self.gathering)
            }
            guard let appends = unapplied.take(events: Self.eventsPerTransaction), let last = appends.last else {
                await checkpointWhileIdle()
                return
            }
            do {
                try await database.write { db in try SQLiteAppend.insert(appends, db) }
                if let sealed = log.sealedThrough, sealed <= last.lastPosition {
                    try Self.syncFiles(of: path)
                    log.discard(through: sealed)
                }
            } catch {
                unapplied.fail(SQLiteEventStore.storeError(error, operation: "apply the commit log", path: path))
                return
            }
            unapplied.markApplied()
        }
    }

    /// Copies the write-ahead log into the database now that appends have paused: readers then
    /// find every page in the mapped database file instead of looking it up in a long WAL.
    /// (Under load, checkpoints wait for 16,000 pages: theirs syncs slow the commit log's.)
    private func checkpointWhileIdle() async {
        _ = try? await database.writeWithoutTransaction { db in try db.checkpoint(.passive) }
    }

    /// Syncs the database and its write-ahead log: every transaction SQLite committed is then on
    /// disk, even though its commits do not sync.
    static func syncFiles(of path: URL) throws {
        for file in [path.path, path.path + "-wal"] {
            let descriptor = open(file, O_RDONLY | O_CLOEXEC)
            if descriptor < 0, errno == ENOENT { continue }
            defer { if descriptor >= 0 { close(descriptor) } }
            guard descriptor >= 0, fsync(descriptor) == 0 else {
                throw PyreError(.events, "cannot sync \(file): \(String(cString: strerror(errno))); check the disk")
            }
        }
    }
}
