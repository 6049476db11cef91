import Foundation
import PostgresNIO
import PyreCore
import PyreEvents
@testable import PyreEventsPostgres
import PyreTesting
import Testing

@Suite("PostgreSQL event store")
struct PostgresEventStoreTests {
    private func open(_ url: String) async throws -> PostgresEventStore {
        try await PostgresEventStore.open(PostgresEventStoreConfiguration(url: url), logger: quietLogger)
    }

    /// Runs `body` with the stores, then closes them.
    private func closing<T>(_ stores: [PostgresEventStore], _ body: () async throws -> T) async throws -> T {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        for store in stores { await store.close() }
        return try result.get()
    }

    /// A batch answers each append on its own, as SQLite's group commit does, and stores only
    /// the good ones, at gap-free positions.
    @Test func aBatchAnswersEachAppendAndStoresOnlyTheGoodOnes() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let store = try await open(cluster.url(database: try await cluster.createDatabase()))
        try await closing([store]) { () async throws in
            _ = try await store.append(to: "s", testEvents(2), expected: .noStream)
            let storedElsewhere = testEvent(9)
            _ = try await store.append(to: "other", [storedElsewhere], expected: .any)
            let retried = testEvents(3)
            let results = try await store.appendConnection.withConnection { connection, tail in
                try await PostgresAppend.runBatch([
                    PostgresAppend(stream: "s", events: testEvents(1), expected: .exact(1)),
                    PostgresAppend(stream: "s", events: testEvents(1), expected: .exact(1)),
                    PostgresAppend(stream: "u", events: [storedElsewhere], expected: .any),
                    PostgresAppend(stream: "r", events: retried, expected: .noStream),
                    PostgresAppend(stream: "r", events: retried, expected: .noStream),
                    PostgresAppend(stream: "s", events: testEvents(2), expected: .exact(2)),
                ], on: connection, tail: &tail, logger: quietLogger)
            }
            #expect(try results[0].get() == AppendResult(firstVersion: 2, lastVersion: 2, firstPosition: 3, lastPosition: 3))
            #expect(results[1].failure as? WrongExpectedVersion
                == WrongExpectedVersion(stream: "s", expected: .exact(1), actual: 2))
            #expect((results[2].failure as? PyreError)?.message.contains("already stored in stream 'other'") == true)
            let original = AppendResult(firstVersion: 0, lastVersion: 2, firstPosition: 4, lastPosition: 6)
            #expect(try results[3].get() == original)
            #expect(try results[4].get() == original)
            #expect(try results[5].get() == AppendResult(firstVersion: 3, lastVersion: 4, firstPosition: 7, lastPosition: 8))
            let all = try await store.readAll(from: 0, limit: 100)
            #expect(all.map(\.position) == Array(0...8))
            #expect(all.map(\.stream) == ["s", "s", "other", "s", "r", "r", "r", "s", "s"])
            _ = try await store.append(to: "after", testEvents(1), expected: .any)
            #expect(try await store.lastPosition() == 9)
        }
    }

    /// The batch statement places events by what the store last knew, and waits for the appends'
    /// lock. Another process appending to the same stream meanwhile makes the batch collide,
    /// and it is then judged again, under the lock, against what that process stored.
    @Test func aBatchOvertakenWhileWaitingForTheLockIsJudgedAgain() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let store = try await open(cluster.url(database: try await cluster.createDatabase()))
        try await closing([store]) { () async throws in
            _ = try await store.append(to: "s", testEvents(2), expected: .noStream)
            try await store.client.withConnection { other in
                try await other.query("BEGIN", logger: quietLogger)
                try await other.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.appendLockKey))", logger: quietLogger)
                try await other.query("""
                    INSERT INTO events (position, stream, version, id, type, data, recorded_at)
                    VALUES (2, 's', 2, \(UUID()), 'Other', '\\x7b7d', now())
                    """, logger: quietLogger)
                let batch = Task {
                    try await store.appendConnection.withConnection { connection, tail in
                        try await PostgresAppend.runBatch([
                            PostgresAppend(stream: "s", events: testEvents(1), expected: .exact(1)),
                            PostgresAppend(stream: "s", events: testEvents(1), expected: .any),
                        ], on: connection, tail: &tail, logger: quietLogger)
                    }
                }
                try await waitUntilAStatementWaitsForALock(store)
                try await other.query("COMMIT", logger: quietLogger)
                let results = try await batch.value
                #expect(results[0].failure as? WrongExpectedVersion
                    == WrongExpectedVersion(stream: "s", expected: .exact(1), actual: 2))
                #expect(try results[1].get() == AppendResult(firstVersion: 3, lastVersion: 3, firstPosition: 3, lastPosition: 3))
            }
            let all = try await store.readAll(from: 0, limit: 100)
            #expect(all.map(\.version) == [0, 1, 2, 3])
            #expect(all.map(\.type) == ["Counted", "Counted", "Other", "Counted"])
        }
    }

    /// Each store places its appends by what it last knew; appends by the other in between leave
    /// that out of date, and the store then places them by what is stored, with no gap.
    @Test func storesTakingTurnsOnOneStreamPlaceEveryAppendAfterTheOther() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let url = cluster.url(database: try await cluster.createDatabase())
        let stores = [try await open(url), try await open(url)]
        try await closing(stores) { () async throws in
            for turn in 0..<6 {
                let result = try await stores[turn % 2].append(to: "shared", testEvents(2), expected: .any)
                #expect(result == AppendResult(firstVersion: Int64(turn * 2), lastVersion: Int64(turn * 2 + 1),
                                               firstPosition: Int64(turn * 3), lastPosition: Int64(turn * 3 + 1)))
                _ = try await stores[turn % 2].append(to: "own-\(turn % 2)", testEvents(1), expected: .any)
            }
            await #expect(throws: WrongExpectedVersion.self) {
                try await stores[0].append(to: "shared", testEvents(1), expected: .exact(10))
            }
            #expect(try await stores[1].append(to: "shared", testEvents(1), expected: .exact(11)).lastVersion == 12)
            let all = try await stores[0].readAll(from: 0, limit: 100)
            #expect(all.map(\.position) == Array(0..<19))
        }
    }

    /// Appends have a connection of their own, outside the pool; when the server ends it, the
    /// next append opens another.
    @Test func appendsReconnectAfterTheServerEndsTheirConnection() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let database = try await cluster.createDatabase()
        let store = try await open(cluster.url(database: database))
        try await closing([store]) { () async throws in
            _ = try await store.append(to: "s", testEvents(1), expected: .noStream)
            let ended = try await cluster.psql("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = '\(database)' AND query LIKE '%WITH locked AS%'
                """)
            #expect(ended == "1\n")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await store.append(to: "s", testEvents(1), expected: .exact(0)).lastVersion == 1)
        }
    }

    private func waitUntilAStatementWaitsForALock(_ store: PostgresEventStore) async throws {
        for _ in 0..<500 {
            let waiting = try await PostgresRows.first(store.client.query(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", logger: quietLogger
            ).decode(Int.self)) ?? 0
            if waiting > 0 { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the batch never waited for the appends' lock")
    }

    @Test func readerTailingAllNeverSkipsAPositionWhileManyAppendersCommit() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let url = cluster.url(database: try await cluster.createDatabase())
        // Two stores, two pools: appends race on separate connections, as from two agents.
        let stores = [try await open(url), try await open(url)]
        let batches = (0..<8).map { writer in (0..<25).map { (writer + $0) % 3 + 1 } }
        let lastPosition = Int64(batches.joined().reduce(0, +) - 1)
        try await closing(stores) { () async throws in
            async let tailed = tailAll(stores[0], through: lastPosition)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (writer, sizes) in batches.enumerated() {
                    group.addTask {
                        for size in sizes {
                            _ = try await stores[writer % 2].append(to: "writer-\(writer)", testEvents(size),
                                                                    expected: .any)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await tailed == Array(0...lastPosition))
        }
    }

    /// Reads `$all` as a subscriber does, resuming after the last position seen, until it has
    /// seen `lastPosition`; a position that committed after a higher one would be missing.
    private func tailAll(_ store: any EventStore, through lastPosition: Int64) async throws -> [Int64] {
        var seen: [Int64] = []
        var next: Int64 = 0
        while next <= lastPosition {
            let page = try await store.readAll(from: next, limit: 20)
            guard let last = page.last else {
                try await Task.sleep(for: .milliseconds(1))
                continue
            }
            seen += page.map(\.position)
            next = last.position + 1
        }
        return seen
    }

    @Test func openingTwiceAndConcurrentlyMigratesOnce() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let database = try await cluster.createDatabase()
        let url = cluster.url(database: database)
        let first = try await open(url)
        let result = try await closing([first]) { try await first.append(to: "a", testEvents(2), expected: .noStream) }
        let concurrent = try await withThrowingTaskGroup(of: PostgresEventStore.self) { group in
            for _ in 0..<4 { group.addTask { try await open(url) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        try await closing(concurrent) { () async throws in
            for store in concurrent {
                #expect(try await store.read(stream: "a", from: 0, limit: 10, direction: .forward).count == 2)
            }
            #expect(try await concurrent[0].append(to: "a", testEvents(1), expected: .exact(result.lastVersion))
                == AppendResult(firstVersion: 2, lastVersion: 2, firstPosition: 2, lastPosition: 2))
        }
        let applied = try await cluster.psql("SELECT version, name FROM pyre_schema_migrations ORDER BY version",
                                             database: database)
        #expect(applied == "1|events\n2|snapshots\n3|append function\n4|batch append function\n5|batch append statement\n"
            + "6|positions without a counter\n")
    }

    @Test func databaseMigratedByANewerPyreIsRefused() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let database = try await cluster.createDatabase()
        let url = cluster.url(database: database)
        let store = try await open(url)
        await store.close()
        try await cluster.psql("INSERT INTO pyre_schema_migrations (version, name) VALUES (99, 'future')",
                               database: database)
        let error = await #expect(throws: PyreError.self) { try await open(url) }
        #expect(error?.code == .events)
        #expect(error?.message.contains("schema version 99") == true)
        #expect(error?.message.contains("upgrade Pyre") == true)
    }

    @Test func wrongPasswordIsAClearErrorWithoutThePassword() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let database = try await cluster.createDatabase()
        let role = "pyre_role_" + UUID().uuidString.prefix(8).lowercased()
        try await cluster.psql("CREATE ROLE \(role) LOGIN PASSWORD 'right-horse-battery'; "
            + "GRANT ALL ON DATABASE \(database) TO \(role); ALTER DATABASE \(database) OWNER TO \(role)")

        let wrong = cluster.url(database: database, user: role, password: "wrong-staple-42")
        let error = await #expect(throws: PyreError.self) { try await open(wrong) }
        #expect(error?.code == .events)
        #expect(error?.message.contains("password authentication failed") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("check the user name and password") == true)
        #expect(error?.message.contains("wrong-staple-42") == false)

        let store = try await open(cluster.url(database: database, user: role, password: "right-horse-battery"))
        try await closing([store]) { () async throws in
            #expect(try await store.append(to: "a", testEvents(1), expected: .noStream).lastPosition == 0)
        }
    }

    @Test func missingDatabaseAndDeadServerAreClearErrors() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let missing = await #expect(throws: PyreError.self) { try await open(cluster.url(database: "no_such_db")) }
        #expect(missing?.message.contains("database \"no_such_db\" does not exist") == true, "\(missing?.message ?? "")")
        #expect(missing?.message.contains("create the database first") == true)

        // Port 1 on loopback: nothing listens there.
        let dead = await #expect(throws: PyreError.self) {
            try await open("postgres://pyre:topsecret@127.0.0.1:1/events?sslmode=disable")
        }
        #expect(dead?.message.contains("check that PostgreSQL is running") == true, "\(dead?.message ?? "")")
        #expect(dead?.message.contains("topsecret") == false)
    }

    @Test func unixSocketURLConnects() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let store = try await open(cluster.socketURL(database: try await cluster.createDatabase()))
        try await closing([store]) { () async throws in
            _ = try await store.append(to: "a", testEvents(2), expected: .noStream)
            #expect(try await store.lastPosition() == 1)
        }
    }

    @Test func everyConnectionCommitsSynchronouslyWhateverTheDatabaseDefault() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let database = try await cluster.createDatabase()
        try await cluster.psql("ALTER DATABASE \(database) SET synchronous_commit = off")
        let store = try await open(cluster.url(database: database))
        try await closing([store]) { () async throws in
            let rows = try await store.client.query("SHOW synchronous_commit", logger: quietLogger)
            var settings: [String] = []
            for try await setting in rows.decode(String.self) { settings.append(setting) }
            let appending = try await store.appendConnection.withConnection { connection, _ in
                try await connection.query("SHOW synchronous_commit", logger: quietLogger).decode(String.self)
                    .reduce(into: []) { $0.append($1) }
            }
            #expect(settings == ["on"])
            #expect(appending == ["on"])
        }
    }

    @Test func appendsByAnotherProcessWakeSubscribersWithoutPolling() async throws {
        let cluster = try await PostgresTestCluster.shared()
        let url = cluster.url(database: try await cluster.createDatabase())
        let subscriber = try await open(url)
        let writer = try await open(url)
        try await closing([subscriber, writer]) { () async throws in
            // Without a notification the subscription would wait a minute before reading again.
            let subscription = EventSubscription(store: subscriber, stream: "a", from: 0, pollInterval: .seconds(60))
            let started = ContinuousClock.now
            let received = Task { () async throws -> Int64? in
                for try await event in subscription { return event.version }
                return nil
            }
            try await Task.sleep(for: .milliseconds(200))
            _ = try await writer.append(to: "a", testEvents(1), expected: .noStream)
            let timeout = Task {
                try await Task.sleep(for: .seconds(10))
                received.cancel()
            }
            #expect(try await received.value == 0)
            timeout.cancel()
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}
