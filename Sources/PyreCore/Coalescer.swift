import Synchronization

/// Coalescing: requests that arrive while a call runs wait in a queue, and the next call takes
/// all of them (up to ``Limits``) at once. Group commit (concurrent appends share one fsync),
/// batched lookups (a round of health gates shares one API call) and publishing (updates that
/// arrive during a zone change share the next) are all this.
///
/// One task at a time drains the queue; it exists only while there is work. A request that
/// arrives when nothing runs starts a call at once (after `gathering`, when given): no timer,
/// no waiting for a batch to fill, so an idle caller is answered as fast as without it
/// (with `loneRequestsInline`, the call runs in the caller's own task). A
/// caller cancelled while its request still waits is answered with `CancellationError` and
/// its request never runs.
package final class Coalescer<Request: Sendable, Response: Sendable>: Sendable {
    /// Carries out `requests` together and answers each of them, in order: one result per
    /// request. Never called again before it returns.
    package typealias Commit = @Sendable (_ requests: [Request]) async -> [Result<Response, any Error>]

    /// How much one commit takes: at least one request, however heavy.
    package struct Limits: Sendable {
        package var requests: Int
        /// Sum of the weights given to ``submit(_:weight:)``, e.g. bytes.
        package var weight: Int

        package init(requests: Int, weight: Int) {
            self.requests = requests
            self.weight = weight
        }

        package static var unlimited: Limits { Limits(requests: .max, weight: .max) }
    }

    private struct Waiter {
        var id: UInt64
        var request: Request
        var weight: Int
        var continuation: CheckedContinuation<Response, any Error>
    }

    private struct State {
        var queue: [Waiter] = []
        var draining = false
        var nextID: UInt64 = 0
        var batches = 0
    }

    private let state = Mutex(State())
    private let limits: Limits
    private let gather: (@Sendable () async -> Void)?
    private let loneRequestsInline: Bool
    private let commit: Commit

    /// `gathering`: how long the first call of a drain waits for more requests, for callers
    /// that start together but reach the queue over a few scheduler turns.
    package convenience init(limits: Limits = .unlimited, gathering: Duration = .zero, commit: @escaping Commit) {
        var gather: (@Sendable () async -> Void)?
        if gathering > .zero { gather = { try? await Task.sleep(for: gathering) } }
        self.init(limits: limits, gather: gather, commit: commit)
    }

    /// `gather`: what the first call of a drain waits for before it takes the queue (tests hold it
    /// open until their callers are queued, instead of racing a timer).
    ///
    /// `loneRequestsInline`: a request that finds nothing running and nobody waiting is committed
    /// in its caller's task, with no drain task, answering task or continuation (each a thread
    /// wake on the 2-core VM, together about a fifth of a lone PostgreSQL append). Only for
    /// commits that wait for I/O, during which the others queue: a commit that never suspends
    /// (SQLite's log write on a fast disk) would leave them no moment to, and each would commit
    /// alone. Ignored with `gather`.
    package init(limits: Limits = .unlimited, gather: (@Sendable () async -> Void)?, loneRequestsInline: Bool = false,
                 commit: @escaping Commit) {
        self.limits = limits
        self.gather = gather
        self.loneRequestsInline = loneRequestsInline && gather == nil
        self.commit = commit
    }

    /// Batches handed to the commit function so far; tests read it to see that requests were grouped.
    package var batchCount: Int { state.withLock { $0.batches } }

    /// Requests waiting for a commit to take them: the drain waits for latecomers by it, and tests
    /// read it to know what the next batch holds.
    var queuedCount: Int { state.withLock { $0.queue.count } }

    /// Queues `request` and returns its own result once the call that took it has returned.
    ///
    /// Cancelling a caller whose request is still queued removes it (it throws `CancellationError`
    /// and is never committed); once a batch has taken it, it is answered as usual.
    package func submit(_ request: Request, weight: Int = 0) async throws -> Response {
        if loneRequestsInline, try takeAlone() {
            return try await commitAlone(request)
        }
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let startDraining = state.withLock { state -> Bool? in
                    // Checked under the lock, so onCancel either finds the waiter or runs before it is queued.
                    if Task.isCancelled { return nil }
                    state.queue.append(Waiter(id: id, request: request, weight: weight, continuation: continuation))
                    defer { state.draining = true }
                    return !state.draining
                }
                switch startDraining {
                case nil: continuation.resume(throwing: CancellationError())
                case true?: Task { await self.drain() }
                case false?: break
                }
            }
        } onCancel: {
            let removed = state.withLock { state in
                state.queue.firstIndex { $0.id == id }.map { state.queue.remove(at: $0) }
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Whether this request finds nothing running and nobody waiting, and so is committed in
    /// its caller's own task (the drain marked as running).
    private func takeAlone() throws -> Bool {
        try state.withLock { state in
            guard !state.draining, state.queue.isEmpty else { return false }
            try Task.checkCancellation()
            state.draining = true
            state.batches += 1
            return true
        }
    }

    /// A lone request, committed in its caller's task; requests that arrived meanwhile go to a
    /// drain as usual.
    private func commitAlone(_ request: Request) async throws -> Response {
        let results = await commit([request])
        precondition(results.count == 1, "a call must answer every request of its batch")
        let more = state.withLock { state in
            if state.queue.isEmpty { state.draining = false }
            return state.draining
        }
        if more { Task { await self.drain() } }
        return try results[0].get()
    }

    /// Turns the drain gives latecomers after one yield, at most.
    static var extraTurns: Int { 3 }

    private func drain() async {
        await gather?()
        while let batch = nextBatch() {
            let results = await commit(batch.map(\.request))
            precondition(results.count == batch.count, "a call must answer every request of its batch")
            // Answered from a task of their own. Resumed here one by one, each answer woke the
            // other (idle) thread, which ran it and slept again before the next: 8 answers took
            // the drain 50-80 µs on the 2-core VM. The task costs one wake, and its thread
            // answers them all while this one goes on.
            let answers = Array(zip(batch.map(\.continuation), results))
            Task {
                for (continuation, result) in answers { continuation.resume(with: result) }
            }
            // Lets the appenders just answered run before the next batch is taken: most append
            // again at once, and then share the next commit instead of waiting for the one after.
            // One that is still on its way when the others are queued (the other threads run it)
            // gets a few more turns: missing the commit would cost it a whole sync.
            await Task.yield()
            for _ in 0..<Self.extraTurns where queuedCount < batch.count {
                await Task.yield()
            }
        }
    }

    /// Takes the longest prefix of the queue within the limits; nil (and draining stops) when it is empty.
    private func nextBatch() -> [Waiter]? {
        state.withLock { state in
            guard !state.queue.isEmpty else {
                state.draining = false
                return nil
            }
            var count = 0
            var weight = 0
            for waiter in state.queue {
                if count == limits.requests || (count > 0 && weight + waiter.weight > limits.weight) { break }
                count += 1
                weight += waiter.weight
            }
            state.batches += 1
            defer { state.queue.removeFirst(count) }
            return Array(state.queue.prefix(count))
        }
    }
}
