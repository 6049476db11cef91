import PostgresNIO

/// What this process believes about the end of the store: the next position, and the version of
/// each stream it has appended to or looked up (-1: no such stream). Only ever behind the store
/// or equal to it, never ahead: it moves after a commit and is forgotten after any failure, so
/// a wrong belief makes a batch collide (see ``PostgresBatchAppend``), never write a gap.
struct PostgresKnownTail: Sendable {
    var nextPosition: Int64?
    private(set) var versions: [String: Int64] = [:]

    /// Streams remembered at most; past that they are all forgotten and looked up again.
    static let streamLimit = 10_000

    mutating func forget() {
        nextPosition = nil
        versions.removeAll()
    }

    mutating func remember(_ stream: String, version: Int64) {
        if versions[stream] == nil && versions.count >= Self.streamLimit { versions.removeAll() }
        versions[stream] = version
    }

    /// Reads what it lacks for `streams`: without the lock, as a stale answer only costs a
    /// collision. One round trip, and only for streams this process has not seen.
    mutating func learn(_ streams: some Sequence<String>, on connection: PostgresConnection,
                        logger: Logger) async throws {
        let unknown = Array(Set(streams).filter { versions[$0] == nil })
        guard nextPosition == nil || !unknown.isEmpty else { return }
        let rows = try await connection.query("""
            SELECT NULL::text, -1::int8, (SELECT coalesce(max(position), -1) + 1 FROM events)
            UNION ALL
            SELECT s.stream, coalesce((SELECT max(version) FROM events WHERE stream = s.stream), -1), NULL
            FROM unnest(\(unknown)::text[]) AS s(stream)
            """, logger: logger).decode((String?, Int64, Int64?).self)
        for try await (stream, version, next) in rows {
            if let stream { remember(stream, version: version) }
            if let next { nextPosition = next }
        }
    }
}
