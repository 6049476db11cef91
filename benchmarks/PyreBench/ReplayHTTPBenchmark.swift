import AsyncHTTPClient
import Foundation
import NIOCore
import PyreAPI
import PyreEvents
import PyreTesting

/// Replay over the events HTTP API, what a new server of an event-sourced service does before
/// it may serve: 1,000,000 small events read from `$all` and from their stream in pages, by a
/// Swift client (async-http-client, each page decoded into the service's own types with
/// JSONDecoder) and by a Python one (benchmarks/peers/replay_http.py: http.client and json).
/// The agent's side is the real events API (`EventsAPI`) over the SQLite store, in a process
/// of its own (`replay-http-serve`) so that each side's memory is its own; the peer is the same
/// store read in this process. Three rounds, rotating which replay goes first; medians and
/// the spread.
enum ReplayHTTPBenchmark {
    static let pageSize = 1_000
    static let rounds = 3
    static let token = "replay-bench-token"

    static func run(events total: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-replay-http-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.sqlite")
        let filled = try SQLiteEventStore(path: path)
        try await ReplayBenchmark.fill(filled, events: total, pageSize: pageSize)
        // One process at a time may open a store: the events API's process, or this one for the peer.
        await filled.close()
        print("replay-http: \(total) events, pages of \(pageSize); the events API in a process of its own")

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = client.shutdown() }
        let peerName = "in-process store, $all"
        let decoderName = "JSONDecoder pages, $all"
        let replays: [(String, (AgentEventsProcess) async throws -> Measured)] = [
            ("Swift client, $all", { try await swiftReplay(stream: "$all", total: total, server: $0) }),
            ("Swift client, stream", { try await swiftReplay(stream: "guestbook", total: total, server: $0) }),
            (decoderName, { try await decoderReplay(client, total: total, server: $0) }),
            ("Python client, $all", { try pythonReplay(port: $0.port, stream: nil, total: total) }),
            ("Python client, stream", { try pythonReplay(port: $0.port, stream: "guestbook", total: total) }),
        ]
        var rates: [String: [Double]] = [:]
        func report(_ round: Int, _ name: String, _ measured: Measured) throws {
            guard measured.events == total else { throw BenchmarkFailure("\(name) replayed \(measured.events) of \(total) events") }
            rates[name, default: []].append(measured.rate)
            print("  round \(round), \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(Int(measured.rate)) events/s"
                  + "  client memory by tenth (MB): \(measured.clientMemory.map(String.init).joined(separator: " "))"
                  + (measured.serverMemory.isEmpty ? "" : "  agent: \(measured.serverMemory.map(String.init).joined(separator: " "))")
                  + (measured.cpu.map { String(format: "  CPU µs/event: client %.2f, agent %.2f", $0.client / Double(total) * 1e6, $0.server / Double(total) * 1e6) } ?? ""))
        }
        for round in 1...rounds {
            if round.isMultiple(of: 2) {
                try report(round, peerName, try await inProcess(path, total: total))
            }
            let server = try AgentEventsProcess.start(store: path, token: token)
            for offset in replays.indices {
                let (name, replay) = replays[(offset + round - 1) % replays.count]
                try report(round, name, try await replay(server))
            }
            server.stop()
            if !round.isMultiple(of: 2) {
                try report(round, peerName, try await inProcess(path, total: total))
            }
        }
        let peer = median(rates[peerName] ?? [])
        let targets = ["Swift client, $all": 500_000.0, "Swift client, stream": 500_000, "Python client, $all": 100_000,
                       "Python client, stream": 100_000]
        print("  replay                     median events/s   spread (min-max)   vs in-process store   target")
        for name in [peerName] + replays.map(\.0) {
            let values = rates[name] ?? []
            let rate = median(values)
            let target = targets[name].map { "\(Int($0)): \(rate >= $0 ? "met" : "MISSED")" } ?? "peer"
            print("  \(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(String(Int(rate)).padding(toLength: 18, withPad: " ", startingAt: 0))"
                  + " \("\(Int(values.min() ?? 0))-\(Int(values.max() ?? 0))".padding(toLength: 18, withPad: " ", startingAt: 0))"
                  + " \(String(format: "%.2f×", rate / peer).padding(toLength: 21, withPad: " ", startingAt: 0)) \(target)")
        }
    }

    struct Measured {
        var events: Int
        var seconds: Double
        var clientMemory: [Int]
        var serverMemory: [Int] = []
        /// CPU seconds of this process and of the events API's, when measured.
        var cpu: (client: Double, server: Double)?
        var rate: Double { Double(events) / seconds }
    }

    /// What a Swift service decodes: the page, each event, and its own type for `data`.
    private struct Page: Decodable {
        var events: [Event]
    }

    private struct Event: Decodable {
        var stream: String
        var id: UUID
        var type: String
        var version: Int64
        var position: Int64
        var recordedAt: String
        var data: Entry
        var metadata: Entry?
    }

    private struct Entry: Decodable {
        var name: String
        var message: String
    }

    private static func inProcess(_ path: URL, total: Int) async throws -> Measured {
        let store = try SQLiteEventStore(path: path)
        var replayed = 0
        var start: Int64 = 0
        var memory: [Int] = []
        let began = ContinuousClock.now
        while true {
            let events = try await store.readAll(from: start, limit: pageSize)
            guard let last = events.last else { break }
            replayed += events.count
            start = last.position + 1
            if replayed % (total / 10) == 0 { memory.append(ProcessUsage.anonymousMegabytes()) }
        }
        let seconds = (ContinuousClock.now - began).timeInterval
        await store.close()
        return Measured(events: replayed, seconds: seconds, clientMemory: memory)
    }

    /// Pyre's Swift client (`EventsClient.replay`, pages of its default 10,000): envelopes decoded, each event's data left
    /// as its JSON bytes for the service to decode as it likes; every byte of it is touched.
    private static func swiftReplay(stream: String, total: Int, server: AgentEventsProcess) async throws -> Measured {
        let client = EventsClient(url: "http://127.0.0.1:\(server.port)", token: token)
        var memory = Memory(total: total, server: server)
        var checksum = 0
        let began = ContinuousClock.now
        let cpu = CPUTimes(server: server)
        let replayed = try await client.replay(stream) { events in
            for event in events {
                checksum &+= event.data.withUnsafeBytes { $0.reduce(0) { $0 &+ Int($1) } }
            }
            memory.sample(after: events.count)
        }
        guard checksum != 0 else { throw BenchmarkFailure("the replayed events have no data") }
        return Measured(events: replayed, seconds: (ContinuousClock.now - began).timeInterval,
                        clientMemory: memory.client, serverMemory: memory.server, cpu: cpu.used())
    }

    /// For reference: a client decoding whole pages with JSONDecoder into the service's own
    /// types, one page after another.
    private static func decoderReplay(_ client: HTTPClient, total: Int, server: AgentEventsProcess) async throws -> Measured {
        let decoder = JSONDecoder()
        var memory = Memory(total: total, server: server)
        var replayed = 0
        let began = ContinuousClock.now
        while true {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/all?from=\(replayed)&limit=\(pageSize)")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            let response = try await client.execute(request, timeout: .seconds(60))
            guard response.status == .ok else { throw BenchmarkFailure("the events API answered \(response.status)") }
            let page = try decoder.decode(Page.self, from: try await response.body.collect(upTo: 64 << 20))
            guard !page.events.isEmpty else { break }
            replayed += page.events.count
            memory.sample(after: page.events.count)
        }
        return Measured(events: replayed, seconds: (ContinuousClock.now - began).timeInterval,
                        clientMemory: memory.client, serverMemory: memory.server)
    }

    /// CPU time both sides use during a replay.
    private struct CPUTimes {
        let server: AgentEventsProcess
        let start: (Double, Double)

        init(server: AgentEventsProcess) {
            self.server = server
            start = (ProcessUsage.ownCPUSeconds(), ProcessUsage.cpuSeconds(of: [server.pid]))
        }

        func used() -> (client: Double, server: Double) {
            (ProcessUsage.ownCPUSeconds() - start.0, ProcessUsage.cpuSeconds(of: [server.pid]) - start.1)
        }
    }

    /// Both sides' anonymous memory after each tenth of a replay.
    private struct Memory {
        let total: Int
        let process: AgentEventsProcess
        var replayed = 0
        var client: [Int] = []
        var server: [Int] = []

        init(total: Int, server: AgentEventsProcess) {
            self.total = total
            process = server
        }

        mutating func sample(after count: Int) {
            let tenth = max(1, total / 10)
            let before = replayed
            replayed += count
            guard replayed / tenth > before / tenth else { return }
            client.append(ProcessUsage.anonymousMegabytes())
            server.append(ProcessUsage.anonymousMegabytes(of: process.pid))
        }
    }

    private static func pythonReplay(port: Int, stream: String?, total: Int) throws -> Measured {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/replay_http.py")
        guard let python = ExternalTool.path("python3") else { throw BenchmarkFailure("python3 is not installed") }
        let result = try ExternalTool.run(python, [script.path, "--port", String(port), "--token", token, "--events", String(total),
                                                   "--page", String(pageSize)] + (stream.map { ["--stream", $0] } ?? []))
        guard result.status == 0, let line = result.output.split(separator: "\n").last,
              let answer = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let seconds = answer["seconds"] as? Double, let events = answer["events"] as? Int,
              let memory = answer["residentByTenth"] as? [Int] else {
            throw BenchmarkFailure("the Python replay failed: \(result.output)")
        }
        return Measured(events: events, seconds: seconds, clientMemory: memory)
    }
}
