import Logging
import PostgresNIO
import PyreCore
import Synchronization

/// The connection appends run on, opened when first needed and again after it broke. Not a
/// pool: the group committer runs one batch at a time, and a pool's lease and release around
/// every batch (its state machine, keep-alive timers armed and cancelled) woke threads that a
/// lone appender then waited for.
final class PostgresAppendConnection: Sendable {
    private struct State {
        var connection: PostgresConnection?
        /// What the last batch left known of the store's end.
        var tail = PostgresKnownTail()
        var nextID = 0
        var closed = false
    }

    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` on the connection with the tail the call before left. Callers take turns
    /// (the group committer's one batch at a time); a connection found closed afterwards is
    /// replaced at the next call.
    func withConnection<Result: Sendable>(
        _ body: (PostgresConnection, inout PostgresKnownTail) async throws -> Result
    ) async throws -> Result {
        let connection = try await open()
        var tail = state.withLock { $0.tail }
        defer { state.withLock { [tail] in $0.tail = tail } }
        return try await body(connection, &tail)
    }

    /// Closes the connection; later calls fail.
    func close() async {
        let connection = state.withLock { state in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        try? await connection?.close()
    }

    private func open() async throws -> PostgresConnection {
        let (current, id) = try state.withLock { state in
            guard !state.closed else {
                throw PyreError(.events, "the event store is closed: open it again before appending")
            }
            state.nextID += 1
            return (state.connection, state.nextID)
        }
        if let current, !current.isClosed { return current }
        let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        let closedMeanwhile = state.withLock { state in
            if !state.closed { state.connection = connection }
            return state.closed
        }
        if closedMeanwhile {
            try? await connection.close()
            throw PyreError(.events, "the event store was closed during an append: open it again before appending")
        }
        return connection
    }
}
