/// Answers lookups of single keys with as few calls as it can: every key asked for while a
/// call runs goes into the next call, and an answer is reused for `freshness`, so a hundred
/// health gates probing at once, each asking for its state and then its status checks, cost
/// one API call per round instead of two hundred.
actor BatchedLookup<Key: Hashable & Sendable, Value: Sendable> {
    typealias Fetch = @Sendable ([Key]) async throws -> [Key: Value]

    private let fetch: Fetch
    private let freshness: Duration
    private var answers: [Key: (value: Value?, at: ContinuousClock.Instant)] = [:]
    private var waiting: [Key: [CheckedContinuation<Value?, any Error>]] = [:]
    private var fetching = false

    static var gathering: Duration { .milliseconds(5) }

    init(freshness: Duration, fetch: @escaping Fetch) {
        self.freshness = freshness
        self.fetch = fetch
    }

    /// The value for `key`, nil when the fetch found none.
    func value(for key: Key) async throws -> Value? {
        if let answer = answers[key], ContinuousClock.now - answer.at < freshness { return answer.value }
        return try await withCheckedThrowingContinuation { continuation in
            waiting[key, default: []].append(continuation)
            if !fetching {
                fetching = true
                Task { await fetchWaiting() }
            }
        }
    }

    /// Drops remembered answers, after a change the next lookup must see.
    func forget(_ keys: some Sequence<Key>) {
        for key in keys { answers[key] = nil }
    }

    private func fetchWaiting() async {
        // Callers that start together (a round of gates) arrive over a few scheduler turns:
        // wait a moment so the first call takes them all, not just the first of them.
        try? await Task.sleep(for: Self.gathering)
        while !waiting.isEmpty {
            let batch = waiting
            waiting = [:]
            do {
                let found = try await fetch(Array(batch.keys))
                let now = ContinuousClock.now
                for (key, continuations) in batch {
                    answers[key] = (found[key], now)
                    for continuation in continuations { continuation.resume(returning: found[key]) }
                }
            } catch {
                for continuation in batch.values.joined() { continuation.resume(throwing: error) }
            }
        }
        fetching = false
        let now = ContinuousClock.now
        answers = answers.filter { now - $0.value.at < freshness }
    }
}
