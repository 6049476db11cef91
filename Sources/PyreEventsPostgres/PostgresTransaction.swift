import Logging
import PostgresNIO

/// BEGIN … COMMIT on one connection. Unlike PostgresNIO's `withTransaction`, the body's own
/// errors (``WrongExpectedVersion``, `PyreError`) come out unwrapped, so callers see the
/// same errors as from the SQLite store.
enum PostgresTransaction {
    static func run<Result: Sendable>(on connection: PostgresConnection, logger: Logger,
                                      _ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await connection.query("BEGIN", logger: logger)
        let result: Result
        do {
            result = try await body(connection)
        } catch {
            // A failed ROLLBACK means the connection is broken; the server then rolls back itself.
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
        try await connection.query("COMMIT", logger: logger)
        return result
    }
}
