import Foundation
import PyreCore
import Synchronization

/// Appends the commit log holds and the SQLite tables do not yet, shared by the writer (which
/// adds them), the applier (which inserts and removes them) and readers (which wait for them).
///
/// Only the writer adds appends, and the applier removes them only after SQLite committed them,
/// so a lookup that tries here first and SQLite second never misses one.
final class UnappliedAppends: Sendable {
    /// The writer waits for the applier when this many events are not yet in SQLite.
    static let maximumQueued = 50_000
    /// Stream versions remembered past their apply, so a busy stream's appends need no SQLite read.
    static let rememberedStreams = 10_000

    private struct Waiter {
        var position: Int64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [LoggedAppend] = []
        var queuedEvents = 0
        /// How many of the queue's first appends the applier is inserting now.
        var taken = 0
        var applying = false
        /// Exact current versions: every stream with unapplied events, and some others.
        var versions: [String: (version: Int64, lastPosition: Int64)] = [:]
        var logged: Int64
        var applied: Int64
        var waiters: [Waiter] = []
        var failure: (any Error)?
    }

    private let state: Mutex<State>
    /// Pulsed when a reader starts waiting, so the applier stops letting appends gather.
    let readerArrived = AppendSignal()

    /// Everything up to `lastPosition` (-1 for an empty store) is in SQLite.
    init(lastPosition: Int64) {
        state = Mutex(State(logged: lastPosition, applied: lastPosition))
    }

    /// The position the next logged event gets.
    var nextPosition: Int64 { state.withLock { $0.logged + 1 } }

    /// What is known here of `streams`' versions (absent: ask SQLite) and of where `ids` are stored.
    ///
    /// Ids are found by going through the queue: the writer asks only about the few ids the
    /// stored-id filter may hold, and an index of every queued id cost each commit and each
    /// apply a dictionary update per event, under the lock they share.
    func lookUp(streams: Set<String>, ids: [UUID]) -> (versions: [String: Int64], places: [UUID: StoredPlace]) {
        state.withLock { state in
            var versions: [String: Int64] = [:]
            for stream in streams {
                if let known = state.versions[stream] { versions[stream] = known.version }
            }
            var places: [UUID: StoredPlace] = [:]
            guard !ids.isEmpty else { return (versions, places) }
            let wanted = Set(ids)
            for logged in state.queue {
                for (offset, event) in logged.events.enumerated() where wanted.contains(event.id) {
                    places[event.id] = StoredPlace(stream: logged.stream, version: logged.firstVersion + Int64(offset),
                                                   position: logged.firstPosition + Int64(offset))
                }
            }
            return (versions, places)
        }
    }

    /// Records appends that were just logged; true when the applier must be started.
    func add(_ appends: [LoggedAppend]) -> Bool {
        state.withLock { state in
            for logged in appends {
                state.queue.append(logged)
                state.queuedEvents += logged.events.count
                state.versions[logged.stream] = (logged.result.lastVersion, logged.lastPosition)
                state.logged = logged.lastPosition
            }
            defer { state.applying = true }
            return !state.applying
        }
    }

    /// True when the applier should take what is queued now rather than let more gather: a reader
    /// waits, or the queue is long.
    func isUrgent(events: Int) -> Bool {
        state.withLock { !$0.waiters.isEmpty || $0.queuedEvents >= events }
    }

    /// The oldest unapplied appends, up to about `events` events; nil (and the applier stops) when none.
    func take(events: Int) -> [LoggedAppend]? {
        state.withLock { state in
            guard !state.queue.isEmpty, state.failure == nil else {
                state.applying = false
                return nil
            }
            var count = 0
            var taken = 0
            while taken < state.queue.count, count == 0 || count + state.queue[taken].events.count <= events {
                count += state.queue[taken].events.count
                taken += 1
            }
            state.taken = taken
            return Array(state.queue.prefix(taken))
        }
    }

    /// The appends last taken are committed in SQLite.
    func markApplied() {
        let woken = state.withLock { state -> [Waiter] in
            let applied = state.queue.prefix(state.taken)
            for logged in applied { state.queuedEvents -= logged.events.count }
            state.applied = applied.last?.lastPosition ?? state.applied
            state.queue.removeFirst(state.taken)
            state.taken = 0
            if state.versions.count > Self.rememberedStreams {
                let appliedPosition = state.applied
                state.versions = state.versions.filter { $0.value.lastPosition > appliedPosition }
            }
            let ready = state.waiters.filter { $0.position <= state.applied }
            state.waiters.removeAll { $0.position <= state.applied }
            return ready
        }
        for waiter in woken { waiter.continuation.resume() }
    }

    /// SQLite cannot take the logged appends: every waiter, and everyone after, gets `error`.
    func fail(_ error: any Error) {
        let woken = state.withLock { state in
            state.failure = state.failure ?? error
            state.applying = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in woken { waiter.continuation.resume(throwing: error) }
    }

    /// Returns once SQLite holds every append logged before the call: reads then see them.
    func caughtUp() async throws {
        try await applied(through: state.withLock { $0.logged })
    }

    /// Returns once fewer than ``maximumQueued`` events wait for the applier.
    func waitForRoom() async throws {
        let target = state.withLock { state -> Int64? in
            state.queuedEvents < Self.maximumQueued ? nil : state.logged - Int64(Self.maximumQueued / 2)
        }
        if let target { try await applied(through: target) }
    }

    private func applied(through position: Int64) async throws {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<Void, any Error>? in
                if let failure = state.failure { return .failure(failure) }
                if state.applied >= position { return .success(()) }
                state.waiters.append(Waiter(position: position, continuation: continuation))
                return nil
            }
            if let result {
                continuation.resume(with: result)
            } else {
                readerArrived.pulse()
            }
        }
    }
}
