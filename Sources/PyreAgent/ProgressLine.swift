import Foundation

/// One line of progress of a long operation (bake, deploy, verify), as the agent prints it
/// and streams it to the CLI as JSON lines.
public struct ProgressLine: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case bake, output, plan, server, deploy, verify, result, error
    }

    public var kind: Kind
    public var message: String
    /// Final line only: whether the operation succeeded.
    public var ok: Bool?
    /// Final line of a deploy: its number.
    public var deployment: Int?

    public init(_ kind: Kind, _ message: String, ok: Bool? = nil, deployment: Int? = nil) {
        self.kind = kind
        self.message = message
        self.ok = ok
        self.deployment = deployment
    }
}

public typealias ProgressSink = @Sendable (ProgressLine) -> Void
