/// The optimistic-concurrency condition an append must meet, checked atomically with the write.
public enum ExpectedVersion: Sendable, Equatable, CustomStringConvertible {
    /// Append whatever the stream's state.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream must have at least one event.
    case streamExists
    /// The stream's last event must have exactly this version.
    case exact(Int64)

    /// Whether a stream whose current version is `actual` (nil: no stream) meets this condition.
    public func isSatisfied(by actual: Int64?) -> Bool {
        switch self {
        case .any: true
        case .noStream: actual == nil
        case .streamExists: actual != nil
        case .exact(let version): actual == version
        }
    }

    public var description: String {
        switch self {
        case .any: "any version"
        case .noStream: "no stream"
        case .streamExists: "an existing stream"
        case .exact(let version): "version \(version)"
        }
    }
}

/// An append's ``ExpectedVersion`` did not hold; nothing was written.
/// Read the stream again, decide anew, and retry with the reported version.
public struct WrongExpectedVersion: Error, Sendable, Equatable, CustomStringConvertible {
    public var stream: String
    public var expected: ExpectedVersion
    /// The stream's version when the append was tried; nil when the stream did not exist.
    public var actual: Int64?

    public init(stream: String, expected: ExpectedVersion, actual: Int64?) {
        self.stream = stream
        self.expected = expected
        self.actual = actual
    }

    public var description: String {
        let state = actual.map { "is at version \($0)" } ?? "does not exist"
        return "stream '\(stream)' \(state) but the append expected \(expected): "
            + "read the stream again and retry with its current version"
    }
}
