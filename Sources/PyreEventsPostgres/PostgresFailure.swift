import PostgresNIO
import PyreCore

/// Turns PostgresNIO's errors into text for `PyreError` messages. PSQLError's own description
/// hides everything; this keeps what helps (the server's message, the socket error) and
/// nothing that could hold a secret (no query parameters, no configuration).
enum PostgresFailure {
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return "the server said: \(message)\(state)"
            }
            if let underlying = error.underlying {
                return "\(error.code): \(underlying)"
            }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// The SQLSTATE of a server error, e.g. `28P01` for a wrong password.
    static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
