import Foundation
import GRDB
import PyreCore

/// Commits a batch of appends in one IMMEDIATE transaction, so the whole batch costs one fsync.
///
/// Each append runs in its own savepoint, in queue order: it sees the effects of the appends
/// before it, exactly as if they had committed one after another, and a failing append rolls
/// back only itself. Nobody is answered before the COMMIT returns; if it fails, every append
/// of the batch fails.
struct SQLiteBatchWriter: Sendable {
    var database: DatabasePool
    var path: URL
    var appendSignal: AppendSignal

    func commit(_ appends: [SQLiteAppend]) async -> [Result<AppendResult, any Error>] {
        let results: [Result<AppendResult, any Error>]
        do {
            results = try await database.write { db in try Self.run(appends, db) }
        } catch {
            return appends.map { .failure(describe(error, appending: $0)) }
        }
        appendSignal.pulse()
        return zip(appends, results).map { append, result in result.mapError { describe($0, appending: append) } }
    }

    /// Runs `appends` in order inside the current transaction.
    static func run(_ appends: [SQLiteAppend], _ db: Database) throws -> [Result<AppendResult, any Error>] {
        try appends.map { append in
            // Cached: a lone append on an idle store pays for these statements on every commit.
            try db.cachedStatement(sql: "SAVEPOINT append").execute()
            do {
                let result = try append.run(db)
                try db.cachedStatement(sql: "RELEASE append").execute()
                return .success(result)
            } catch {
                // Some SQLite errors (a full disk, an I/O error) roll back the whole transaction:
                // then no append of the batch can commit, so the batch fails as one.
                guard db.isInsideTransaction else { throw error }
                try db.execute(sql: "ROLLBACK TO append; RELEASE append")
                return .failure(error)
            }
        }
    }

    private func describe(_ error: any Error, appending append: SQLiteAppend) -> any Error {
        SQLiteEventStore.storeError(error, operation: "append to '\(append.stream)'", path: path)
    }
}
