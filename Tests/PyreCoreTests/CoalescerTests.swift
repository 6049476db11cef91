@testable import PyreCore
import Synchronization
import Testing

/// The coalescer's queue, with a fake call that holds its first batch until the test
/// releases it: the test then knows exactly which requests are waiting for the next commit.
@Suite("Coalescer", .timeLimit(.minutes(1)))
struct CoalescerTests {
    @Test(arguments: [false, true])
    func requestsArrivingDuringACommitShareTheNextOneInArrivalOrder(loneRequestsInline: Bool) async throws {
        let commits = HeldCommits()
        let committer = Coalescer<Int, Int>(limits: .init(requests: 100, weight: 100), gather: nil,
                                            loneRequestsInline: loneRequestsInline, commit: commits.commit)
        let first = Task { try await committer.submit(1, weight: 1) }
        await until { commits.batches == [[1]] }
        let later = await queue([2, -3, 4], on: committer)

        commits.release()
        #expect(try await first.value == 10)
        #expect(try await later[0].value == 20)
        await #expect(throws: Refused(request: -3)) { try await later[1].value }
        #expect(try await later[2].value == 40)
        #expect(commits.batches == [[1], [2, -3, 4]])
        #expect(committer.batchCount == 2)
    }

    @Test func aBatchStopsAtTheCountOrWeightLimitButTakesAtLeastOneRequest() async throws {
        let commits = HeldCommits()
        let committer = Coalescer<Int, Int>(limits: .init(requests: 2, weight: 10), commit: commits.commit)
        let first = Task { try await committer.submit(1, weight: 1) }
        await until { commits.batches == [[1]] }
        let weights = [2: 1, 3: 1, 4: 9, 5: 20, 6: 1]
        let later = await queue([2, 3, 4, 5, 6], on: committer, weight: { weights[$0]! })

        commits.release()
        _ = try await first.value
        for task in later { _ = try await task.value }
        #expect(commits.batches == [[1], [2, 3], [4], [5], [6]])
    }

    @Test func aCancelledWaiterNeverJoinsABatch() async throws {
        let commits = HeldCommits()
        let committer = Coalescer<Int, Int>(limits: .init(requests: 100, weight: 100), commit: commits.commit)
        let first = Task { try await committer.submit(1, weight: 1) }
        await until { commits.batches == [[1]] }
        let later = await queue([2, 3], on: committer)

        later[0].cancel()
        await #expect(throws: CancellationError.self) { try await later[0].value }
        #expect(committer.queuedCount == 1)
        commits.release()
        _ = try await first.value
        #expect(try await later[1].value == 30)
        #expect(commits.batches == [[1], [3]])
    }

    @Test func aCallerCancelledBeforeSubmittingIsNotQueued() async throws {
        let commits = HeldCommits()
        commits.release()
        let committer = Coalescer<Int, Int>(limits: .init(requests: 100, weight: 100), commit: commits.commit)
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await committer.submit(1, weight: 1)
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(try await committer.submit(2, weight: 1) == 20)
        #expect(commits.batches == [[2]])
    }

    /// Callers that reach the queue one after another while the coalescer gathers share its
    /// first call. The gathering lasts until the test has queued all five, so no timer races it.
    @Test func gatheringLetsCallersThatStartTogetherShareTheFirstCall() async throws {
        let commits = HeldCommits()
        commits.release()
        let gathering = HeldCommits()  // its one held call is the gathering
        let coalescer = Coalescer<Int, Int>(gather: { _ = await gathering.commit([]) }, commit: commits.commit)
        let tasks = await queue(Array(1...5), on: coalescer)
        #expect(commits.batches.isEmpty)
        gathering.release()
        var answers: [Int] = []
        for task in tasks { answers.append(try await task.value) }
        #expect(answers == [10, 20, 30, 40, 50])
        #expect(commits.batches == [[1, 2, 3, 4, 5]])
    }

    /// With `loneRequestsInline`, a request that finds the coalescer idle is committed in its
    /// caller's own task; those that queue meanwhile in a drain task, as always.
    @Test func aLoneRequestIsCommittedInItsCallersTask() async throws {
        let commits = HeldCommits()
        let committingTasks = Mutex<[Int]>([])
        let committer = Coalescer<Int, Int>(gather: nil, loneRequestsInline: true) { requests in
            committingTasks.withLock { $0.append(Self.currentTask) }
            return await commits.commit(requests)
        }
        let callerTask = Mutex(0)
        let first = Task {
            callerTask.withLock { $0 = Self.currentTask }
            return try await committer.submit(1)
        }
        await until { commits.batches == [[1]] }
        let later = await queue([2, 3], on: committer)
        commits.release()
        #expect(try await first.value == 10)
        for task in later { _ = try await task.value }
        #expect(commits.batches == [[1], [2, 3]])
        let tasks = committingTasks.withLock { $0 }
        #expect(tasks.first == callerTask.withLock { $0 })
        #expect(tasks.last != callerTask.withLock { $0 })
    }

    private static var currentTask: Int {
        withUnsafeCurrentTask { $0?.hashValue ?? 0 }
    }

    /// Submits `requests` one at a time, each once the one before is queued, so the queue holds them in order.
    private func queue(_ requests: [Int], on committer: Coalescer<Int, Int>,
                       weight: @escaping @Sendable (Int) -> Int = { _ in 1 }) async -> [Task<Int, any Error>] {
        var tasks: [Task<Int, any Error>] = []
        for request in requests {
            let queuedBefore = committer.queuedCount
            tasks.append(Task { try await committer.submit(request, weight: weight(request)) })
            await until { committer.queuedCount == queuedBefore + 1 }
        }
        return tasks
    }

    /// Waits for a state the committer reaches without the test's help; the suite's time limit
    /// turns a state never reached into a failure.
    private func until(_ condition: () -> Bool) async {
        while !condition() && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

private struct Refused: Error, Equatable {
    var request: Int
}

/// A fake commit: records each batch, holds every batch until ``release()``, and answers
/// each request with ten times its value, or ``Refused`` for a negative one.
private final class HeldCommits: Sendable {
    private struct State {
        var batches: [[Int]] = []
        var released = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var batches: [[Int]] { state.withLock { $0.batches } }

    func release() {
        let waiting = state.withLock { state in
            state.released = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in waiting { waiter.resume() }
    }

    func commit(_ requests: [Int]) async -> [Result<Int, any Error>] {
        await withCheckedContinuation { continuation in
            let released = state.withLock { state in
                state.batches.append(requests)
                if !state.released { state.waiting.append(continuation) }
                return state.released
            }
            if released { continuation.resume() }
        }
        return requests.map { $0 < 0 ? .failure(Refused(request: $0)) : .success($0 * 10) }
    }
}
