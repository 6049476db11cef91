import Foundation
import PyreCore
import PyreEvents

/// Append throughput of the SQLite event store with group commit on and off, in one run, for
/// 1, 16 and 64 concurrent appenders each appending one small JSON event at a time.
///
/// Both modes fsync every commit (synchronous=FULL), so the ratio is what sharing a commit buys.
/// The store is a fresh file in the current directory, where `pyre up .` keeps its state
/// directory: a temporary directory may be a RAM file system, on which fsync costs nothing.
/// Rounds alternate which mode goes first, and the verdict is the median of the per-round ratios.
enum EventsBenchmark {
    static let appenderCounts = [1, 16, 64]

    static func run(seconds: Double, rounds: Int) async throws {
        let directory = URL(fileURLWithPath: ".pyre-bench-events-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        print("events: appends/s to SQLiteEventStore, one small JSON event per append, "
            + "\(rounds) rounds of \(seconds) s each, store in \(directory.standardizedFileURL.path)")
        print("  appenders   group commit   one commit per append   ratio (median of rounds)")
        for appenders in appenderCounts {
            var grouped: [Double] = []
            var single: [Double] = []
            for round in 0..<rounds {
                let groupFirst = round.isMultiple(of: 2)
                for groupCommit in groupFirst ? [true, false] : [false, true] {
                    let rate = try await appendsPerSecond(appenders: appenders, groupCommit: groupCommit,
                                                          seconds: seconds, in: directory)
                    if groupCommit { grouped.append(rate) } else { single.append(rate) }
                }
            }
            let ratio = median(zip(grouped, single).map { $0 / $1 })
            print(String(format: "  %9d   %12.0f   %21.0f   %5.2fx", appenders, median(grouped), median(single), ratio))
        }
    }

    /// Runs `appenders` tasks that append for `seconds` to a fresh store, and counts the appends.
    private static func appendsPerSecond(appenders: Int, groupCommit: Bool, seconds: Double,
                                         in directory: URL) async throws -> Double {
        let path = directory.appendingPathComponent("events-\(UUID().uuidString).sqlite")
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path.path + suffix) }
        }
        let store = try SQLiteEventStore(path: path, groupCommit: groupCommit)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        let appended = try await withThrowingTaskGroup(of: Int.self) { group in
            for appender in 0..<appenders {
                group.addTask {
                    var count = 0
                    while clock.now < deadline {
                        let data = Data(#"{"appender":\#(appender),"number":\#(count),"note":"bench"}"#.utf8)
                        _ = try await store.append(to: "bench-\(appender % 8)", [NewEvent(type: "Counted", data: data)],
                                                   expected: .any)
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(appended) / (clock.now - start).timeInterval
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count.isMultiple(of: 2)
            ? (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            : sorted[sorted.count / 2]
    }
}
