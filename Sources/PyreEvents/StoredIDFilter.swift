import Foundation
import PyreCore
import Synchronization

/// A Bloom filter of every event id the store holds, so the writer asks SQLite only about ids
/// that may be stored: a new event's id (nearly always) is answered from memory. Looking up
/// eight new ids in SQLite took about as long as a fifth of the group commit they were in.
///
/// It never answers "not stored" for a stored id: the ids in SQLite when the store opened are
/// added by a scan in the background, and the writer adds every id it logs. Until the scan has
/// finished, every id counts as possibly stored. Sized at opening for 16 bits per event stored
/// then (1 MiB at least), it answers "maybe" for about 0.2% of new ids at that size, and more
/// as the store grows: the writer then asks SQLite more often, and nothing else changes.
final class StoredIDFilter: Sendable {
    /// Bits set per id.
    static let probes = 4

    private struct State {
        var words: [UInt64]
        var ready = false
    }

    private let state: Mutex<State>
    private let mask: UInt64

    init(storedEvents: Int) {
        let wanted = max(1 << 23, storedEvents.multipliedReportingOverflow(by: 16).partialValue)
        let bits = 1 << (Int.bitWidth - (wanted - 1).leadingZeroBitCount)
        mask = UInt64(bits - 1)
        state = Mutex(State(words: [UInt64](repeating: 0, count: bits / 64)))
    }

    /// False only when no event with `id` is stored.
    func mayContain(_ id: UUID) -> Bool {
        let probes = Probes(id)
        return state.withLock { state in
            guard state.ready else { return true }
            return (0..<Self.probes).allSatisfy { probe in
                let position = probes.position(probe, mask: mask)
                return state.words[Int(position >> 6)] & (1 << (position & 63)) != 0
            }
        }
    }

    func insert(_ ids: some Sequence<UUID>) {
        // Hashed before taking the lock: the scan at opening inserts 65,536 ids at a time.
        let hashed = ids.map(Probes.init)
        state.withLock { state in
            for probes in hashed {
                for probe in 0..<Self.probes {
                    let position = probes.position(probe, mask: mask)
                    state.words[Int(position >> 6)] |= 1 << (position & 63)
                }
            }
        }
    }

    /// True once ``markReady()`` ran; tests wait for it.
    var isReady: Bool { state.withLock { $0.ready } }

    /// Every id stored when the store opened has been inserted.
    func markReady() {
        state.withLock { $0.ready = true }
    }

    /// Double hashing of the id's bits: clients choose ids, so they need not be random.
    private struct Probes {
        let start: UInt64
        let step: UInt64

        init(_ id: UUID) {
            let (high, low) = withUnsafeBytes(of: id.uuid) { ($0.loadUnaligned(as: UInt64.self),
                                                              $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
            var first = SplitMix64(seed: high)
            var second = SplitMix64(seed: low ^ first.next())
            start = second.next()
            step = second.next() | 1
        }

        func position(_ probe: Int, mask: UInt64) -> UInt64 {
            (start &+ UInt64(probe) &* step) & mask
        }
    }
}
