import Foundation
import Logging
import PyreLogs
#if canImport(Glibc)
import Glibc
#endif

/// The log store against rsyslog (imptcp/imudp and omfile), side by side in one run:
/// 300-byte RFC 5424 messages over TCP on 1, 4 and 16 connections (Pyre: sent, received and
/// stored messages per second, fsyncing every batch; rsyslog: stored, not fsyncing), UDP at overload (loss rate), then
/// `--grep` over 1,000,000 stored records and the latency of following new records.
enum LogsBenchmark {
    static func run(messages: Int, rounds: Int, only part: String? = nil) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-logs-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        switch part {
        case "follow": return try await FollowBenchmark.run(samples: 2_000, directory: root)
        case "grep": return try GrepBenchmark.run(records: 1_000_000, directory: root)
        case "tcp":
            for connections in connectionCounts {
                let result = try await PyreSink.measureTCP(buffers(messages, connections), total: messages,
                                                           directory: root.appendingPathComponent("pyre-\(connections)"))
                print("  TCP, \(label(connections)): Pyre \(result) (fsync per batch)")
            }
            return
        default: break
        }
        print("logs: \(messages) messages of 300 bytes over TCP, octet counting; \(rounds) rounds, median; 2 cores shared with the loader")
        for connections in connectionCounts {
            var pyre: [PyreSink.Rates] = []
            var rsyslog: [Double] = []
            for round in 0..<rounds {
                let buffers = buffers(messages, connections)
                pyre.append(try await PyreSink.measureTCP(buffers, total: messages, directory: root.appendingPathComponent("pyre-\(connections)-\(round)")))
                rsyslog.append(try RsyslogSink.measureTCP(buffers, total: messages, directory: root.appendingPathComponent("rsyslog-\(connections)-\(round)")))
            }
            let p = PyreSink.Rates.medians(of: pyre)
            let r = median(rsyslog)
            print("  TCP, \(label(connections)): Pyre \(p) (fsync per batch), rsyslog \(Int(r)) msg/s stored"
                  + " -> \(String(format: "%.2f", p.stored / r))x (target >= 1.0x: \(p.stored >= r ? "met" : "MISSED"))")
        }
        let datagrams = 200_000
        let pyreUDP = try await PyreSink.measureUDP(count: datagrams, directory: root.appendingPathComponent("pyre-udp"))
        let rsyslogUDP = try RsyslogSink.measureUDP(count: datagrams, directory: root.appendingPathComponent("rsyslog-udp"))
        print("  UDP overload, \(datagrams) datagrams from one thread: Pyre stored \(pyreUDP.stored) of \(pyreUDP.sent)"
              + " (loss \(percent(pyreUDP))), rsyslog \(rsyslogUDP.stored) of \(rsyslogUDP.sent) (loss \(percent(rsyslogUDP))); no crash")
        try GrepBenchmark.run(records: 1_000_000, directory: root.appendingPathComponent("grep"))
        // The grep store's dirty pages would otherwise be written back during the follow run's fsyncs.
        sync()
        try await FollowBenchmark.run(samples: 2_000, directory: root.appendingPathComponent("follow"))
    }

    static let connectionCounts = [1, 4, 16]

    private static func buffers(_ messages: Int, _ connections: Int) -> [[UInt8]] {
        (0..<connections).map { SyslogLoader.octetCounted(first: $0 * messages / connections, count: messages / connections) }
    }

    private static func label(_ connections: Int) -> String {
        connections == 1 ? "1 connection " : "\(connections) connections"
    }

    private static func percent(_ result: (sent: Int, stored: Int)) -> String {
        String(format: "%.1f%%", 100 * Double(result.sent - result.stored) / Double(max(result.sent, 1)))
    }
}

/// Pyre's store, writer and receiver in this process.
enum PyreSink {
    static func start(_ directory: URL) async throws -> (LogWriter, SyslogReceiver, udp: Int, tcp: Int) {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let store = try LogStore(configuration: .init(directory: directory))
        let writer = LogWriter(store: store, logger: logger)
        writer.start()
        let receiver = SyslogReceiver(configuration: .init(host: "127.0.0.1", port: 0), writer: writer, logger: logger)
        let addresses = try await receiver.start()
        return (writer, receiver, addresses.udp.port!, addresses.tcp.port!)
    }

    /// Messages per second until the loader had sent the last one, until the receiver had read
    /// it, and until the store had committed it; and the writer's largest backlog.
    struct Rates: CustomStringConvertible {
        var sent: Double
        var received: Double
        var stored: Double
        var peakBacklogBytes: Int

        /// Each rate's median, and the largest backlog of all rounds.
        static func medians(of rounds: [Rates]) -> Rates {
            func middle(_ rate: KeyPath<Rates, Double>) -> Double { median(rounds.map { $0[keyPath: rate] }) }
            return Rates(sent: middle(\.sent), received: middle(\.received), stored: middle(\.stored),
                         peakBacklogBytes: rounds.map(\.peakBacklogBytes).max() ?? 0)
        }

        var description: String {
            "sent \(Int(sent)), received \(Int(received)), stored \(Int(stored)) msg/s, backlog at most \(peakBacklogBytes >> 10) KiB"
        }
    }

    static func measureTCP(_ buffers: [[UInt8]], total: Int, directory: URL) async throws -> Rates {
        let (writer, receiver, _, port) = try await start(directory)
        defer { writer.stop() }
        let began = ContinuousClock.now
        let sender = Task.detached { () throws -> ContinuousClock.Instant in
            try SyslogLoader.sendTCP(buffers, port: port)
            return ContinuousClock.now
        }
        var received: ContinuousClock.Instant?
        try await waitFor(total, deadline: .seconds(120)) {
            let now = writer.current
            if received == nil, now.received >= UInt64(total) { received = ContinuousClock.now }
            return Int(now.committed)
        }
        let stored = ContinuousClock.now
        let sentAt = try await sender.value
        await receiver.stop()
        let rate = { (end: ContinuousClock.Instant) in Double(total) / (end - began).timeInterval }
        return Rates(sent: rate(sentAt), received: rate(received ?? stored), stored: rate(stored),
                     peakBacklogBytes: writer.current.peakBacklogBytes)
    }

    static func measureUDP(count: Int, directory: URL) async throws -> (sent: Int, stored: Int) {
        let (writer, receiver, port, _) = try await start(directory)
        defer { writer.stop() }
        let sent = SyslogLoader.sendUDP(count: count, port: port)
        let stored = try await settled { Int(writer.current.committed) }
        await receiver.stop()
        if writer.current.refused > 0 { print("    (Pyre's writer refused \(writer.current.refused) at a full backlog)") }
        return (sent, stored)
    }
}

enum RsyslogSink {
    static func measureTCP(_ buffers: [[UInt8]], total: Int, directory: URL) throws -> Double {
        let rsyslog = try RsyslogPeer(directory: directory)
        defer { rsyslog.stop() }
        let began = ContinuousClock.now
        try SyslogLoader.sendTCP(buffers, port: rsyslog.tcpPort)
        while rsyslog.storedCount() < total {
            if ContinuousClock.now - began > .seconds(120) { throw BenchmarkFailure("rsyslog stored \(rsyslog.storedCount()) of \(total)") }
            usleep(1_000)
        }
        return Double(total) / (ContinuousClock.now - began).timeInterval
    }

    static func measureUDP(count: Int, directory: URL) throws -> (sent: Int, stored: Int) {
        let rsyslog = try RsyslogPeer(directory: directory)
        defer { rsyslog.stop() }
        let sent = SyslogLoader.sendUDP(count: count, port: rsyslog.udpPort)
        var last = -1
        while true {
            usleep(500_000)
            let now = rsyslog.storedCount()
            if now == last { return (sent, now) }
            last = now
        }
    }
}

/// Waits until `count()` reaches `total`.
func waitFor(_ total: Int, deadline: Duration, _ count: () -> Int) async throws {
    let end = ContinuousClock.now + deadline
    while count() < total {
        if ContinuousClock.now > end { throw BenchmarkFailure("stored \(count()) of \(total)") }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// The value of `count()` once it stops changing for half a second.
func settled(_ count: () -> Int) async throws -> Int {
    var last = -1
    while true {
        try await Task.sleep(for: .milliseconds(500))
        let now = count()
        if now == last { return now }
        last = now
    }
}
