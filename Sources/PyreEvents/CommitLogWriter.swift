import Foundation
import PyreCore

/// Commits a batch of appends to the commit log: checks each one in queue order against the
/// store as the appends before it left it, writes those that pass as one frame, syncs it, and
/// only then answers. The SQLite tables catch up afterwards (``CommitLogApplier``).
///
/// Versions and ids are checked here, not in SQLite: against ``UnappliedAppends`` first, then
/// against SQLite, then against the batch itself. This is the group commit's only writer.
struct CommitLogWriter: Sendable {
    var lookups: SQLiteLookups
    var storedIDs: StoredIDFilter
    var log: CommitLog
    var unapplied: UnappliedAppends
    var applier: CommitLogApplier
    var appendSignal: AppendSignal
    var path: URL

    /// The store as the batch's checks see it; each logged append updates it.
    private struct Known {
        var versions: [String: Int64]
        var places: [UUID: StoredPlace]
    }

    func commit(_ appends: [SQLiteAppend]) async -> [Result<AppendResult, any Error>] {
        var known: Known
        do {
            try await unapplied.waitForRoom()
            known = try lookUp(appends)
        } catch {
            return appends.map { .failure(describe(error, appending: $0)) }
        }
        var nextPosition = unapplied.nextPosition
        var logged: [LoggedAppend] = []
        // In queue order: each append is checked against the store as the ones before it left it.
        let results = appends.map { append in
            Result { () throws -> AppendResult in
                switch try decide(append, known: known, nextPosition: nextPosition) {
                case .retry(let original):
                    return original
                case .write(let placed):
                    nextPosition = placed.lastPosition + 1
                    record(placed, in: &known)
                    logged.append(placed)
                    return placed.result
                }
            }
        }
        guard let firstLogged = logged.first?.firstPosition else { return results }
        do {
            try log.write(logged)
        } catch {
            // Every append placed in the frame fails, and so does a retry of one of them.
            return results.map { result in
                guard case .success(let placed) = result, placed.lastPosition >= firstLogged else { return result }
                return .failure(error)
            }
        }
        storedIDs.insert(logged.lazy.flatMap { $0.events.lazy.map(\.id) })
        if unapplied.add(logged) { applier.start() }
        // Subscribers wake now; their reads wait for the applier, which they hurry.
        appendSignal.pulse()
        return results
    }

    private enum Decision {
        /// The append repeats a stored one: answer with its result, write nothing.
        case retry(AppendResult)
        /// The append passed its checks and is placed from `nextPosition` on.
        case write(LoggedAppend)
    }

    /// Throws when the append must fail.
    private func decide(_ append: SQLiteAppend, known: Known, nextPosition: Int64) throws -> Decision {
        let stored = append.events.map { known.places[$0.id] }
        let actual = known.versions[append.stream]
        switch try AppendRetry.outcome(stream: append.stream, events: append.events, expected: append.expected,
                                       stored: stored) {
        case .original(let result):
            return .retry(result)
        case .expectationNeverHeld:
            throw WrongExpectedVersion(stream: append.stream, expected: append.expected, actual: actual)
        case nil:
            break
        }
        guard append.expected.isSatisfied(by: actual) else {
            throw WrongExpectedVersion(stream: append.stream, expected: append.expected, actual: actual)
        }
        return .write(LoggedAppend(stream: append.stream, firstVersion: (actual ?? -1) + 1, firstPosition: nextPosition,
                                   recordedAt: SQLiteRows.microseconds(append.now), events: append.events))
    }

    private func record(_ logged: LoggedAppend, in known: inout Known) {
        for (offset, event) in logged.events.enumerated() {
            known.places[event.id] = StoredPlace(stream: logged.stream, version: logged.firstVersion + Int64(offset),
                                                 position: logged.firstPosition + Int64(offset))
        }
        known.versions[logged.stream] = logged.result.lastVersion
    }

    /// The versions of the batch's streams and the places of its ids, from the unapplied
    /// appends and then, for what they do not know, from SQLite. Only ids the filter may hold
    /// are looked up at all: a new id (nearly every one) is known not to be stored.
    private func lookUp(_ appends: [SQLiteAppend]) throws -> Known {
        let streams = Set(appends.map(\.stream))
        let ids = appends.flatMap { $0.events.lazy.map(\.id).filter(storedIDs.mayContain) }
        var (versions, places) = unapplied.lookUp(streams: streams, ids: ids)
        let stored = try lookups.lookUp(streams: streams.filter { versions[$0] == nil },
                                        ids: ids.filter { places[$0] == nil })
        versions.merge(stored.versions) { known, _ in known }
        places.merge(stored.places) { known, _ in known }
        return Known(versions: versions, places: places)
    }

    private func describe(_ error: any Error, appending append: SQLiteAppend) -> any Error {
        SQLiteEventStore.storeError(error, operation: "append to '\(append.stream)'", path: path)
    }
}
