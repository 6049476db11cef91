import ArgumentParser
import Foundation
import PyreLocal

@main
struct PyreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pyre-bench", abstract: "Pyre's benchmarks; run them all with benchmarks/run.")

    @Argument(help: "engine, dashboard, aws, ebs-upload, local, dns, entrypoint, events, replay, replay-http, images, images-start (namespace mode), logs, events-sqlite (Pyre's SQLite store only), events-postgres (Pyre's PostgreSQL store and plain PostgreSQL only), or one part of logs: logs-tcp (Pyre only), logs-grep, logs-follow")
    var benchmark: String

    @Option(help: "Number of servers.")
    var servers: Int?

    @Option(help: "Number of events (replay and replay-http only).")
    var events: Int?

    @Option(help: "The SQLite store to serve (replay-http-serve, the child replay-http starts).")
    var store: String?

    @Option(help: "Concurrent writers; repeat for several (events only; default 1, 8 and 64).")
    var writers: [Int] = []

    @Flag(help: "Print each rollout step with its time (local only).")
    var verbose = false

    @Option(help: "namespaces or process (local only).")
    var isolation: IsolationMode = .process

    func run() async throws {
        switch benchmark {
        case "engine": try await EngineBenchmark.run(servers: servers ?? 10_000)
        case "dashboard": try await DashboardBenchmark.run(servers: servers ?? 200, rounds: 5)
        case "aws": try await AWSBenchmark.run(servers: servers ?? 100, rounds: 3)
        case "ebs-upload": try await EBSUploadBenchmark.run(megabytes: 256, rounds: ProcessInfo.processInfo.environment["PYRE_BENCH_ROUNDS"].flatMap { Int($0) } ?? 5)
        case "local": try await LocalBenchmark.run(servers: servers ?? 20, isolation: isolation, verbose: verbose)
        case "entrypoint": try await EntrypointBenchmark.run()
        case "dns": try await DNSBenchmark.run(seconds: 5, rounds: 3)
        case "events":
            try await EventsBenchmark.run(writerCounts: writers.isEmpty ? [1, 8, 64] : writers, seconds: 2, rounds: 3)
        case "events-postgres":
            try await EventsBenchmark.runPostgresOnly(writerCounts: writers.isEmpty ? [1, 8, 64] : writers, seconds: 2, rounds: 5)
        case "events-sqlite":
            try await EventsBenchmark.runSQLiteOnly(writerCounts: writers.isEmpty ? [1, 8, 64] : writers, seconds: 2, rounds: 5)
        case "replay": try await ReplayBenchmark.run(events: events ?? 1_000_000)
        case "replay-http": try await ReplayHTTPBenchmark.run(events: events ?? 1_000_000)
        case "replay-http-serve":
            guard let store else { throw ValidationError("replay-http-serve needs --store PATH") }
            try await AgentEventsProcess.serve(store: store)
        case "images": try await ImagesBenchmark.run(rounds: 3)
        case "images-start": try await ImagesBenchmark.startup(servers: servers ?? 20, rounds: 3)
        case "logs": try await LogsBenchmark.run(messages: 400_000, rounds: 3)
        case "logs-follow", "logs-grep", "logs-tcp":
            try await LogsBenchmark.run(messages: 400_000, rounds: 1, only: String(benchmark.dropFirst(5)))
        default: throw ValidationError("unknown benchmark \(benchmark); use engine, dashboard, aws, ebs-upload, local, dns, entrypoint, events, replay, replay-http, images, images-start or logs")
        }
    }
}

extension IsolationMode: ExpressibleByArgument {}
