import Foundation
import GRDBSQLite
import PyreCore
import Synchronization

/// The commit log writer's own read-only SQLite connection, for the version and id lookups its
/// checks make on every group commit. It is used on the caller's thread: a GRDB pool read hops
/// to the reader's dispatch queue and back and wraps the lookups in a transaction, which cost
/// more than the lookups themselves.
final class SQLiteLookups: Sendable {
    private struct Connection: @unchecked Sendable {
        var database: OpaquePointer
        var version: OpaquePointer
        var place: OpaquePointer
        var begin: OpaquePointer
        var commit: OpaquePointer
    }

    private let connection: Mutex<Connection?>
    private let path: String

    init(path: URL) throws {
        self.path = path.path
        var database: OpaquePointer?
        var statements: [OpaquePointer?] = [nil, nil, nil, nil]
        let sql = [SQLiteAppend.currentVersionSQL,
                   "SELECT stream, version, position FROM events WHERE id = ?", "BEGIN", "COMMIT"]
        let opened = sqlite3_open_v2(path.path, &database, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK
            && sqlite3_busy_timeout(database, 10_000) == SQLITE_OK
            && sqlite3_exec(database, "PRAGMA mmap_size = 1073741824", nil, nil, nil) == SQLITE_OK
            && sql.indices.allSatisfy { index in
                sqlite3_prepare_v3(database, sql[index], -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statements[index], nil)
                    == SQLITE_OK
            }
        guard opened, let database, let version = statements[0], let place = statements[1], let begin = statements[2],
              let commit = statements[3] else {
            let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            statements.forEach { sqlite3_finalize($0) }
            sqlite3_close_v2(database)
            throw PyreError(.events, "cannot open the event store at \(path.path) for reading: \(message)")
        }
        connection = Mutex(Connection(database: database, version: version, place: place, begin: begin, commit: commit))
    }

    deinit { close() }

    func close() {
        connection.withLock { connection in
            guard let open = connection else { return }
            [open.version, open.place, open.begin, open.commit].forEach { sqlite3_finalize($0) }
            sqlite3_close_v2(open.database)
            connection = nil
        }
    }

    /// The current versions of those of `streams` that have events, and where those of `ids` that
    /// are stored are, all read from one snapshot.
    func lookUp(streams: some Collection<String>, ids: some Collection<UUID>) throws
        -> (versions: [String: Int64], places: [UUID: StoredPlace]) {
        if streams.isEmpty && ids.isEmpty { return ([:], [:]) }
        return try connection.withLock { connection in
            guard let connection else {
                throw PyreError(.events, "the event store at \(path) is closed: open it again to append")
            }
            try run(connection.begin, connection)
            defer { _ = try? run(connection.commit, connection) }
            var versions: [String: Int64] = [:]
            for stream in streams {
                let statement = connection.version
                defer { sqlite3_reset(statement) }
                sqlite3_bind_text(statement, 1, stream, -1, SQLITE_TRANSIENT)
                if try step(statement, connection), sqlite3_column_type(statement, 0) != SQLITE_NULL {
                    versions[stream] = sqlite3_column_int64(statement, 0)
                }
            }
            var places: [UUID: StoredPlace] = [:]
            for id in ids {
                let statement = connection.place
                defer { sqlite3_reset(statement) }
                sqlite3_bind_text(statement, 1, UUIDText.format(id), -1, SQLITE_TRANSIENT)
                if try step(statement, connection) {
                    places[id] = StoredPlace(stream: String(cString: sqlite3_column_text(statement, 0)),
                                             version: sqlite3_column_int64(statement, 1),
                                             position: sqlite3_column_int64(statement, 2))
                }
            }
            return (versions, places)
        }
    }

    /// Runs a statement that returns no rows.
    private func run(_ statement: OpaquePointer, _ connection: Connection) throws {
        defer { sqlite3_reset(statement) }
        try step(statement, connection)
    }

    /// True when the statement produced a row.
    @discardableResult
    private func step(_ statement: OpaquePointer, _ connection: Connection) throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw PyreError(.events, "cannot read the event store at \(path): "
                + "\(String(cString: sqlite3_errmsg(connection.database))); check the disk")
        }
    }
}
