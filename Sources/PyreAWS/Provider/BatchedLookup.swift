import PyreCore

/// Answers lookups of single keys with as few calls as it can: every key asked for while a
/// call runs goes into the next call (a ``Coalescer``), and an answer is reused for
/// `freshness`, so a hundred health gates probing at once, each asking for its state and
/// then its status checks, cost one API call per round instead of two hundred.
actor BatchedLookup<Key: Hashable & Sendable, Value: Sendable> {
    typealias Fetch = @Sendable ([Key]) async throws -> [Key: Value]

    private let freshness: Duration
    private let calls: Coalescer<Key, Value?>
    private var answers: [Key: (value: Value?, at: ContinuousClock.Instant)] = [:]

    /// Callers that start together (a round of gates) arrive over a few scheduler turns:
    /// the first call waits this long, so it takes them all, not just the first of them.
    static var gathering: Duration { .milliseconds(5) }

    init(freshness: Duration, fetch: @escaping Fetch) {
        self.freshness = freshness
        calls = Coalescer(gathering: Self.gathering) { keys in
            do {
                let found = try await fetch(Array(Set(keys)))
                return keys.map { .success(found[$0]) }
            } catch {
                return keys.map { _ in .failure(error) }
            }
        }
    }

    /// The value for `key`, nil when the fetch found none.
    func value(for key: Key) async throws -> Value? {
        let now = ContinuousClock.now
        if let answer = answers[key], now - answer.at < freshness { return answer.value }
        let value = try await calls.submit(key)
        answers = answers.filter { now - $0.value.at < freshness }
        answers[key] = (value, ContinuousClock.now)
        return value
    }

    /// Drops remembered answers, after a change the next lookup must see.
    func forget(_ keys: some Sequence<Key>) {
        for key in keys { answers[key] = nil }
    }
}
