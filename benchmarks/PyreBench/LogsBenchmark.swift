import Foundation
import Logging
import PyreLogs
#if canImport(Glibc)
import Glibc
#endif

/// The log store against rsyslog (imptcp/imudp and omfile), side by side in one run:
/// 300-byte RFC 5424 messages over TCP on 1 and 4 connections (stored messages per second,
/// Pyre fsyncing every batch, rsyslog not fsyncing), UDP at overload (loss rate), then
/// `--grep` over 1,000,000 stored records and the latency of following new records.
enum LogsBenchmark {
    static func run(messages: Int, rounds: Int, only part: String? = nil) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-logs-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        switch part {
        case "follow": return try await FollowBenchmark.run(samples: 2_000, directory: root)
        case "grep": return try GrepBenchmark.run(records: 1_000_000, directory: root)
        case "tcp":
            let buffers = (0..<4).map { SyslogLoader.octetCounted(first: $0 * messages / 4, count: messages / 4) }
            let rate = try await PyreSink.measureTCP(buffers, total: messages, directory: root)
            return print("  TCP, 4 connections: Pyre \(Int(rate)) msg/s (fsync per batch)")
        default: break
        }
        print("logs: \(messages) messages of 300 bytes over TCP, octet counting; \(rounds) rounds, median; 2 cores shared with the loader")
        for connections in [1, 4] {
            var pyre: [Double] = []
            var rsyslog: [Double] = []
            for round in 0..<rounds {
                let buffers = (0..<connections).map {
                    SyslogLoader.octetCounted(first: $0 * messages / connections, count: messages / connections)
                }
                pyre.append(try await PyreSink.measureTCP(buffers, total: messages, directory: root.appendingPathComponent("pyre-\(connections)-\(round)")))
                rsyslog.append(try RsyslogSink.measureTCP(buffers, total: messages, directory: root.appendingPathComponent("rsyslog-\(connections)-\(round)")))
            }
            let (p, r) = (median(pyre), median(rsyslog))
            print("  TCP, \(connections) connection\(connections == 1 ? " " : "s"): Pyre \(Int(p)) msg/s (fsync per batch), rsyslog \(Int(r)) msg/s"
                  + " -> \(String(format: "%.2f", p / r))x (target >= 1.0x: \(p >= r ? "met" : "MISSED"))")
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
        let receiver = SyslogReceiver(configuration: .init(host: "127.0.0.1", port: 0), writer: writer, logger: logger)
        let (udp, tcp, _) = try await receiver.start()
        return (writer, receiver, udp.port!, tcp.port!)
    }

    static func measureTCP(_ buffers: [[UInt8]], total: Int, directory: URL) async throws -> Double {
        let (writer, receiver, _, port) = try await start(directory)
        defer { writer.stop() }
        let began = ContinuousClock.now
        try SyslogLoader.sendTCP(buffers, port: port)
        try await waitFor(total, deadline: .seconds(120)) { Int(writer.current.committed) }
        let seconds = (ContinuousClock.now - began).timeInterval
        await receiver.stop()
        return Double(total) / seconds
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
