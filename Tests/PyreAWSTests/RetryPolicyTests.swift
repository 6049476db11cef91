import Testing
@testable import PyreAWS

/// The retry decisions and the retry loop, with fixed jitter and a sleep that only records.
@Suite struct RetryPolicyTests {
    let throttled = AWSError(kind: .service, code: "RequestLimitExceeded", message: "slow down", httpStatus: 503)
    let internalError = AWSError(kind: .service, code: "InternalError", message: "oops", httpStatus: 500)
    let authFailure = AWSError(kind: .service, code: "AuthFailure", message: "no", httpStatus: 401)
    let lost = AWSError(kind: .transport, message: "connection reset")

    @Test func whatIsRetried() {
        let policy = RetryPolicy()
        #expect(policy.isRetryable(throttled))
        #expect(policy.isRetryable(AWSError(kind: .service, code: "Throttling", message: "", httpStatus: 400)))
        #expect(policy.isRetryable(AWSError(kind: .service, code: "PriorRequestNotComplete", message: "", httpStatus: 400)))
        #expect(policy.isRetryable(AWSError(kind: .service, message: "HTTP 429", httpStatus: 429)))
        #expect(policy.isRetryable(internalError))
        #expect(policy.isRetryable(lost))
        #expect(!policy.isRetryable(authFailure))
        #expect(!policy.isRetryable(AWSError(kind: .service, code: "InvalidAMIID.NotFound", message: "", httpStatus: 400)))
        #expect(!policy.isRetryable(AWSError.configuration("no region")))
    }

    @Test func backoffDoublesUpToTheCapAndScalesWithJitter() {
        let policy = RetryPolicy(maxAttempts: 100, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        #expect(policy.delay(after: throttled, attempt: 1, jitter: 1) == .milliseconds(100))
        #expect(policy.delay(after: throttled, attempt: 2, jitter: 1) == .milliseconds(200))
        #expect(policy.delay(after: throttled, attempt: 4, jitter: 1) == .milliseconds(800))
        #expect(policy.delay(after: throttled, attempt: 6, jitter: 1) == .seconds(2))
        #expect(policy.delay(after: throttled, attempt: 99, jitter: 1) == .seconds(2))
        #expect(policy.delay(after: throttled, attempt: 4, jitter: 0.5) == .milliseconds(400))
        #expect(policy.delay(after: throttled, attempt: 4, jitter: 0) == .zero)
    }

    @Test func givesUpAtTheBoundAndOnPermanentErrors() {
        let policy = RetryPolicy(maxAttempts: 3)
        #expect(policy.delay(after: throttled, attempt: 2, jitter: 1) != nil)
        #expect(policy.delay(after: throttled, attempt: 3, jitter: 1) == nil)
        #expect(policy.delay(after: authFailure, attempt: 1, jitter: 1) == nil)
    }

    @Test func retrierSleepsBetweenTriesAndReturnsTheSuccess() async throws {
        let sleeps = Recorder<[Duration]>([])
        let retrier = Retrier(policy: RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100)),
                              jitter: { 0.5 }, sleep: { duration in sleeps.update { $0.append(duration) } })
        let failures = [throttled, internalError, lost]
        let result = try await retrier.run { attempt in
            if attempt <= failures.count { throw failures[attempt - 1] }
            return attempt
        }
        #expect(result == 4)
        #expect(sleeps.value == [.milliseconds(50), .milliseconds(100), .milliseconds(200)])
    }

    @Test func retrierStopsAtTheBoundSayingHowManyTries() async throws {
        let sleeps = Recorder(0)
        let retrier = Retrier(policy: RetryPolicy(maxAttempts: 4), jitter: { 0 },
                              sleep: { _ in sleeps.update { $0 += 1 } })
        let error = await #expect(throws: AWSError.self) {
            try await retrier.run { _ -> Int in throw throttled }
        }
        #expect(error?.code == "RequestLimitExceeded")
        #expect(error?.message.contains("gave up after 4 tries") == true)
        #expect(sleeps.value == 3)
    }

    @Test func retrierFailsAtOnceOnAPermanentError() async throws {
        let calls = Recorder(0)
        let retrier = Retrier(jitter: { 0 }, sleep: { _ in Issue.record("must not sleep") })
        let error = await #expect(throws: AWSError.self) {
            try await retrier.run { _ -> Int in
                calls.update { $0 += 1 }
                throw authFailure
            }
        }
        #expect(error?.message == "no")
        #expect(calls.value == 1)
    }
}
