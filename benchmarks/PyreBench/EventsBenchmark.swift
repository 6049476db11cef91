import Foundation
import Logging
import PyreTesting

/// Appends per second, side by side in one run: Pyre's SQLite store, Pyre's PostgreSQL store
/// and plain PostgreSQL doing the same inserts (``PlainPostgresTarget``). Each writer appends
/// one small JSON event at a time to its own stream and waits for the acknowledgement before
/// the next. The last column is the SQLite store's rate counted until its tables have caught
/// up with its commit log (``AppendTarget/settle()``): what it sustains, not only acknowledges.
///
/// Every column syncs every commit (the SQLite store writes its commit log with `O_DSYNC`,
/// PostgreSQL runs with synchronous_commit=on).
/// The SQLite files and the PostgreSQL cluster live in the current directory, where `pyre up .`
/// keeps its state: a temporary directory may be a RAM file system, on which fsync costs nothing.
/// Rounds rotate which column goes first; figures are medians of the rounds, ratios medians of
/// the per-round ratios.
enum EventsBenchmark {
    private enum Column: CaseIterable {
        case sqlite, pyrePostgres, plainPostgres
    }

    static func run(writerCounts: [Int], seconds: Double, rounds: Int) async throws {
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        let directory = try makeStoreDirectory(in: here)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Its own watchdog stops the server and removes its directory when this process ends.
        let cluster = try await PostgresTestCluster.start(in: here)
        let logger = Logger(label: "pyre-bench-events") { _ in SwiftLogNoOpLogHandler() }

        print("events: appends/s, one small JSON event per append, each writer on its own stream waiting for "
            + "its ack, fsync on every commit; \(rounds) rounds of \(seconds) s; files in \(here.path)")
        print("  writers   Pyre SQLite   Pyre PostgreSQL   plain PostgreSQL   SQLite/plain   Pyre PG/plain"
            + "   SQLite, tables caught up")
        var sqliteRates: [Int: Double] = [:]
        var sqliteSustained: [Int: [Double]] = [:]
        var sqliteRatios: [Int: Double] = [:]
        for writers in writerCounts {
            var rates: [Column: [Double]] = [:]
            for round in 0..<rounds {
                let columns = Column.allCases
                let first = round % columns.count
                let order = columns[first...] + columns[..<first]
                for column in order {
                    let target: any AppendTarget = switch column {
                    case .sqlite: try PyreStoreTarget.sqlite(in: directory)
                    case .pyrePostgres: try await PyreStoreTarget.postgres(cluster, logger: logger)
                    case .plainPostgres: try await PlainPostgresTarget.open(cluster, writers: writers, logger: logger)
                    }
                    let (rate, sustained, _) = try await appendsPerSecond(target, writers: writers, seconds: seconds)
                    await target.close()
                    rates[column, default: []].append(rate)
                    if column == .sqlite { sqliteSustained[writers, default: []].append(sustained) }
                }
            }
            let plain = rates[.plainPostgres] ?? []
            let ratio = { (column: Column) in median(zip(rates[column] ?? [], plain).map { $0 / $1 }) }
            sqliteRates[writers] = median(rates[.sqlite] ?? [])
            sqliteRatios[writers] = ratio(.sqlite)
            print(String(format: "  %7d   %11.0f   %15.0f   %16.0f   %11.2fx   %12.2fx   %23.0f", writers,
                         median(rates[.sqlite] ?? []), median(rates[.pyrePostgres] ?? []), median(plain),
                         ratio(.sqlite), ratio(.pyrePostgres), median(sqliteSustained[writers] ?? [])))
        }
        if let single = sqliteRatios[1] {
            print("  1 writer: Pyre SQLite \(String(format: "%.2f", single))x plain PostgreSQL "
                + "(target >= 1.0x: \(single >= 1 ? "met" : "MISSED"))")
        }
        if let eight = sqliteRates[8] {
            print("  8 writers: Pyre SQLite \(Int(eight)) events/s (target >= 20,000: \(eight >= 20_000 ? "met" : "MISSED"))")
        }
    }

    /// Pyre's SQLite store alone, each round's figure printed: for working on the store without
    /// waiting for PostgreSQL. No ratios, so no targets.
    static func runSQLiteOnly(writerCounts: [Int], seconds: Double, rounds: Int) async throws {
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        let directory = try makeStoreDirectory(in: here)
        defer { try? FileManager.default.removeItem(at: directory) }
        print("events-sqlite: Pyre's SQLite store only, appends/s as in `events`; \(rounds) rounds of \(seconds) s")
        for writers in writerCounts {
            var rates: [Double] = []
            for _ in 0..<rounds {
                let target = try PyreStoreTarget.sqlite(in: directory)
                rates.append(try await appendsPerSecond(target, writers: writers, seconds: seconds).acknowledged)
                await target.close()
            }
            print("  \(writers) writers: \(rates.map { String(Int($0)) }.joined(separator: ", ")); median \(Int(median(rates)))")
        }
    }

    /// Pyre's PostgreSQL store against plain PostgreSQL alone, each round's ratio printed: for
    /// working on that store without waiting for SQLite. 5 rounds, alternating which goes first.
    static func runPostgresOnly(writerCounts: [Int], seconds: Double, rounds: Int) async throws {
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        let cluster = try await PostgresTestCluster.start(in: here)
        let logger = Logger(label: "pyre-bench-events") { _ in SwiftLogNoOpLogHandler() }
        let server = try String(contentsOf: cluster.directory.appendingPathComponent("data/postmaster.pid"), encoding: .utf8)
            .split(separator: "\n").first.flatMap { Int32($0) } ?? 0
        print("events-postgres: Pyre's PostgreSQL store and plain PostgreSQL only, appends/s as in `events`, and CPU "
            + "per append of this process and of the server; \(rounds) rounds of \(seconds) s")
        for writers in writerCounts {
            var ratios: [Double] = []
            for round in 0..<rounds {
                var rates: [Double] = [0, 0]
                var cpu: [(client: Double, server: Double)] = [(0, 0), (0, 0)]
                for column in round.isMultiple(of: 2) ? [0, 1] : [1, 0] {
                    let target: any AppendTarget = column == 0
                        ? try await PyreStoreTarget.postgres(cluster, logger: logger)
                        : try await PlainPostgresTarget.open(cluster, writers: writers, logger: logger)
                    let before = (ProcessUsage.ownCPUSeconds(), ProcessUsage.cpuSecondsWithChildren(of: server))
                    let measured = try await appendsPerSecond(target, writers: writers, seconds: seconds)
                    let appends = Double(measured.count) / 1e6
                    cpu[column] = ((ProcessUsage.ownCPUSeconds() - before.0) / appends,
                                   (ProcessUsage.cpuSecondsWithChildren(of: server) - before.1) / appends)
                    rates[column] = measured.acknowledged
                    await target.close()
                }
                ratios.append(rates[0] / rates[1])
                print(String(format: "  %d writers, round %d: Pyre %.0f/s, plain %.0f/s, %.2fx; CPU µs/append: Pyre %.0f + "
                             + "server %.0f, plain %.0f + server %.0f", writers, round + 1, rates[0], rates[1],
                             ratios.last ?? 0, cpu[0].client, cpu[0].server, cpu[1].client, cpu[1].server))
            }
            print(String(format: "  %d writers: median %.2fx plain PostgreSQL (spread %.2f-%.2f)", writers, median(ratios),
                         ratios.min() ?? 0, ratios.max() ?? 0))
        }
    }

    /// A fresh directory for the SQLite stores' files under `here`; the caller removes it.
    private static func makeStoreDirectory(in here: URL) throws -> URL {
        let directory = here.appendingPathComponent(".pyre-bench-events-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs `writers` tasks that append for `seconds`, after one untimed append each (which
    /// creates the streams and opens connections), and counts the appends: per second until
    /// the last acknowledgement, and per second until the target settled.
    private static func appendsPerSecond(_ target: any AppendTarget, writers: Int,
                                         seconds: Double) async throws -> (acknowledged: Double, sustained: Double, count: Int) {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask { try await target.append(writer: writer, number: 0) }
            }
            try await group.waitForAll()
        }
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        let appended = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var number = 1
                    while clock.now < deadline {
                        try await target.append(writer: writer, number: number)
                        number += 1
                    }
                    return number - 1
                }
            }
            return try await group.reduce(0, +)
        }
        let acknowledged = clock.now
        try await target.settle()
        return (Double(appended) / (acknowledged - start).timeInterval, Double(appended) / (clock.now - start).timeInterval,
                appended)
    }
}
