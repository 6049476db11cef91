/// When and how long to wait before trying an AWS call again: throttling, 5xx answers and
/// lost connections are retried with "full jitter" exponential backoff (a uniformly random
/// wait up to `base × 2^(attempt-1)`, capped), at most `maxAttempts` tries in all.
/// Everything else fails at once: another try would get the same answer.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Codes AWS uses for "slow down" or "try again", across services.
    static let transientCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException",
    ]

    public func isRetryable(_ error: AWSError) -> Bool {
        switch error.kind {
        case .configuration: false
        case .transport: true
        case .service:
            (error.httpStatus ?? 0) >= 500 || error.httpStatus == 429
                || error.code.map(Self.transientCodes.contains) ?? false
        }
    }

    /// The wait before the next try after try number `attempt` (from 1) failed with `error`,
    /// or nil to give up. `jitter` is a random number in `0..<1`.
    public func delay(after error: AWSError, attempt: Int, jitter: Double) -> Duration? {
        guard attempt < maxAttempts, isRetryable(error) else { return nil }
        // 2^(attempt-1) overflows long before the cap matters, so stop doubling at the cap.
        var ceiling = baseDelay
        for _ in stride(from: 1, to: attempt, by: 1) where ceiling < maxDelay { ceiling *= 2 }
        return min(ceiling, maxDelay) * min(max(jitter, 0), 1)
    }
}

/// Runs a call under a ``RetryPolicy``, with the sleeping and the randomness given from
/// outside so tests can drive it without waiting.
public struct Retrier: Sendable {
    public var policy: RetryPolicy
    var jitter: @Sendable () -> Double
    var sleep: @Sendable (Duration) async throws -> Void

    public init(policy: RetryPolicy = RetryPolicy(),
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.policy = policy
        self.jitter = jitter
        self.sleep = sleep
    }

    /// Calls `body` with the try number (from 1) until it succeeds, fails for good, or the
    /// tries run out; the last failure then says how many tries were made.
    public func run<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body(attempt)
            } catch var error as AWSError {
                guard let wait = policy.delay(after: error, attempt: attempt, jitter: jitter()) else {
                    if attempt > 1 { error.message += " (gave up after \(attempt) tries)" }
                    throw error
                }
                try await sleep(wait)
                attempt += 1
            }
        }
    }
}
