import Foundation
import PyreLogs

/// How long after a syslog message is sent a follower sees it: sent over TCP every 2 ms,
/// received, committed (fsync), then found by a follower that waits on the store's commit
/// signal and queries after its cursor, as `pyre logs --follow` does through the API.
enum FollowBenchmark {
    static func run(samples: Int, directory: URL) async throws {
        let (writer, receiver, _, port) = try await PyreSink.start(directory)
        defer { writer.stop() }
        let store = writer.store
        let follower = Task { () -> [Double] in
            var latencies: [Double] = []
            var cursor: UInt64 = 0
            while latencies.count < samples {
                let pulses = store.commits.pulses
                let records = try store.query(LogQuery(afterSequence: cursor, limit: 1_000, order: .oldest))
                let now = LogRecord.microseconds(Date())
                for record in records {
                    if let sent = record.message.split(separator: " ").first(where: { $0.hasPrefix("t=") }).flatMap({ Int64($0.dropFirst(2)) }) {
                        latencies.append(Double(now - sent) / 1_000)
                    }
                }
                cursor = records.last?.sequence ?? cursor
                if records.isEmpty { await store.commits.wait(after: pulses, timeout: .seconds(5)) }
            }
            return latencies
        }
        let descriptor = try SyslogLoader.connect(port: port)
        for number in 0..<samples {
            let message = SyslogLoader.message(number, sentAt: LogRecord.microseconds(Date()))
            try SyslogLoader.sendAll(Array("\(message.count) ".utf8) + message, on: descriptor)
            try await Task.sleep(for: .milliseconds(2))
        }
        close(descriptor)
        let latencies = try await follower.value.sorted()
        await receiver.stop()
        let p50 = latencies[latencies.count / 2]
        let p90 = latencies[latencies.count * 9 / 10]
        let p99 = latencies[latencies.count * 99 / 100]
        print("  follow: \(latencies.count) messages, one every 2 ms: latency p50 \(String(format: "%.2f", p50)) ms,"
              + " p90 \(String(format: "%.2f", p90)) ms, p99 \(String(format: "%.2f", p99)) ms,"
              + " max \(String(format: "%.2f", latencies.last!)) ms (target p99 < 100 ms: \(p99 < 100 ? "met" : "MISSED"))")
    }
}
