import Foundation
import PyreDeploy
import PyreEvents

/// Replays 1,000,000 events from the SQLite store, as a new server does on boot: one stream
/// read forward and `$all` from position 0, in pages, each event decoded. Reports events per
/// second and the process's resident memory after each tenth of the replay, which must stay
/// flat: a replay holds one page at a time, whatever the number of events. Three rounds,
/// alternating which replay goes first; the figure is the median round.
enum ReplayBenchmark {
    static let pageSize = 1_000
    static let rounds = 3

    static func run(events total: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-replay-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite"))
        print("replay: pages of \(pageSize)")
        try await fill(store, events: total, pageSize: pageSize)
        let replays = [
            Replay(name: "stream", page: { start in
                try await store.read(stream: "guestbook", from: start, limit: pageSize, direction: .forward)
            }, next: { $0.version + 1 }),
            Replay(name: "$all", page: { start in try await store.readAll(from: start, limit: pageSize) },
                   next: { $0.position + 1 }),
        ]
        var rates: [String: [Double]] = [:]
        for round in 1...rounds {
            for replay in round.isMultiple(of: 2) ? replays.reversed() : replays {
                rates[replay.name, default: []].append(try await measure(replay, round: round, total: total))
            }
        }
        for replay in replays {
            let rate = median(rates[replay.name] ?? [])
            print("  \(replay.name) median: \(Int(rate)) events/s (target >= 1,000,000: \(rate >= 1_000_000 ? "met" : "MISSED"))")
        }
    }

    /// Appends `total` small events to one stream, then leaves the store at rest, and says how long it took.
    static func fill(_ store: SQLiteEventStore, events total: Int, pageSize: Int) async throws {
        let filling = ContinuousClock.now
        for batch in 0..<(total / pageSize) {
            let events = (0..<pageSize).map { index in
                NewEvent(type: "EntryAdded", data: Data(#"{"name":"guest \#(batch * pageSize + index)","message":"hello"}"#.utf8))
            }
            _ = try await store.append(to: "guestbook", events, expected: .any)
        }
        // The replays start from a store at rest, as after any pause in appends: the tables
        // hold every append and the write-ahead log is copied into the database file. They
        // then measure reading, not the fill's last inserts and checkpoint on the other core.
        try await store.checkpoint()
        // Writes back what the fill left dirty, so the kernel's writeback does not share the two
        // cores with the replay.
        sync()
        print("  \(total) events stored in \(format((ContinuousClock.now - filling).timeInterval)) s")
    }

    /// One way to replay: reading a page from a key, and the key after an event.
    private struct Replay {
        var name: String
        var page: (Int64) async throws -> [RecordedEvent]
        var next: (RecordedEvent) -> Int64
    }

    /// Replays every event once, in pages; returns events per second.
    private static func measure(_ replay: Replay, round: Int, total: Int) async throws -> Double {
        let (name, page, next) = (replay.name, replay.page, replay.next)
        var start: Int64 = 0
        var replayed = 0
        var bytes = 0
        var residentByTenth: [Int] = []
        let began = ContinuousClock.now
        let cpuBefore = ProcessUsage.ownCPUSeconds()
        while true {
            let events = try await page(start)
            guard let last = events.last else { break }
            for event in events { bytes &+= event.data.count }
            replayed += events.count
            start = next(last)
            if replayed % (total / 10) == 0 { residentByTenth.append(ProcessUsage.anonymousMegabytes()) }
        }
        let seconds = (ContinuousClock.now - began).timeInterval
        let cpu = ProcessUsage.ownCPUSeconds() - cpuBefore
        guard replayed == total else { throw BenchmarkFailure("replayed \(replayed) of \(total) events") }
        let rate = Double(replayed) / seconds
        let growth = (residentByTenth.last ?? 0) - (residentByTenth.first ?? 0)
        print("  round \(round), \(name.padding(toLength: 7, withPad: " ", startingAt: 0)) \(replayed) events in "
              + "\(format(seconds)) s: \(Int(rate)) events/s; \(bytes / 1_000_000) MB of data; "
              + "\(format(cpu)) s of CPU, \(format(cpu / seconds)) cores busy")
        print("          anonymous resident memory after each tenth (MB): \(residentByTenth.map(String.init).joined(separator: " "))"
              + " (grew \(growth) MB from the first tenth to the last)")
        return rate
    }

    private static func format(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
}
