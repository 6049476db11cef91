import Foundation

/// Where in an input file something is; lines and columns count from 1.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// Pyre's one error type: a stable code, a message that says what to do, and the input
/// location where there is one. Messages never contain secrets.
public struct PyreError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    public enum Code: String, Sendable, Equatable, Codable {
        case manifest
        case bake
        case provider
        case deploy
        case deployRunning = "deploy_running"
        case events
        /// An event id is already stored elsewhere: the append is not a retry of that one.
        case eventIDTaken = "event_id_taken"
        case logs
        case agent
        case unauthorized
        case notFound = "not_found"
    }

    public var code: Code
    public var message: String
    public var location: SourceLocation?
    /// Dotted path of the manifest field, e.g. `services.web.port`.
    public var field: String?

    public init(_ code: Code, _ message: String, location: SourceLocation? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.field = field
    }

    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        if let field { text += "\(field): " }
        return text + message
    }

    public var errorDescription: String? { description }
}
