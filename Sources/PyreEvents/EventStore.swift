import PyreCore

/// An append-only store of events in named streams, with one global order (`$all`).
///
/// Every backend (`SQLiteEventStore`, `PostgresEventStore` in PyreEventsPostgres) gives the
/// same guarantees, checked by one conformance suite:
/// - an append is atomic and durable before it returns, and checks its ``ExpectedVersion``
///   in the same transaction; on a mismatch it throws ``WrongExpectedVersion`` and writes nothing;
/// - re-appending events whose ids are already stored at the same place in the same stream
///   returns the original ``AppendResult`` and writes nothing; an id stored anywhere else is
///   a `PyreError(.eventIDTaken, …)`;
/// - stream versions start at 0 and global positions start at 0; both are gap-free, and a
///   reader of `$all` never sees a position before every lower position is visible.
///
/// Other failures throw `PyreError` with code `.events`.
public protocol EventStore: Sendable {
    /// Appends `events` (at least one) to `stream` if `expected` holds.
    func append(to stream: String, _ events: [NewEvent], expected: ExpectedVersion) async throws -> AppendResult

    /// Up to `limit` events of `stream`, starting at `version` (inclusive) and walking in
    /// `direction`. A stream that does not exist reads as empty.
    func read(stream: String, from version: Int64, limit: Int, direction: ReadDirection) async throws -> [RecordedEvent]

    /// Up to `limit` events of every stream in global order, starting at `position` (inclusive).
    func readAll(from position: Int64, limit: Int) async throws -> [RecordedEvent]

    /// Current version of a stream, nil if it does not exist.
    func version(of stream: String) async throws -> Int64?

    /// Position of the last event in `$all`, nil for an empty store: what a new server must
    /// have replayed up to before it takes traffic.
    func lastPosition() async throws -> Int64?

    /// Stores `snapshot` as its stream's latest, unless a snapshot at a later version is
    /// already stored (then nothing changes). Its version must be an event of the stream.
    func saveSnapshot(_ snapshot: Snapshot) async throws

    /// The latest snapshot of `stream`, nil if none was saved.
    func latestSnapshot(of stream: String) async throws -> Snapshot?

    /// Pulsed after every append this store commits; ``EventSubscription`` waits on it.
    var appendSignal: AppendSignal { get }
}

/// Versions with a meaning of their own in every store.
public enum StreamVersion {
    /// A version past any stream's end: read ``ReadDirection/backward`` from here to start at the last event.
    public static let end: Int64 = .max
}

/// Names with a meaning of their own in every store.
public enum StreamNames {
    /// The global order of all events; not a stream one can append to.
    public static let all = "$all"
}
