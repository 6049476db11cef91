import Foundation
import PyreLogs

/// `pyre logs --grep` over 1,000,000 stored records of a realistic mix, newest 100 matches
/// shown: a plain word, a regular expression, and words and expressions that match nothing
/// (a full scan), one of them without a literal that rules records out.
enum GrepBenchmark {
    static func run(records total: Int, directory: URL) throws {
        let store = try LogStore(configuration: .init(directory: directory))
        let filling = ContinuousClock.now
        let services = ["web", "api", "worker", "cron"]
        let batch = 10_000
        for first in stride(from: 0, to: total, by: batch) {
            let records = (first..<min(first + batch, total)).map { number in
                let service = services[number % services.count]
                let message = number % 997 == 0
                    ? "request \(number) failed: upstream timeout after \(1_000 + number % 9_000)ms"
                    : "GET /entries/\(number) 200 \(number % 50)ms user=\(number % 1_000) session=\(String(number * 7_919, radix: 16))"
                        + " agent=\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36\""
                        + " referer=https://guestbook.example/entries?page=\(number % 40)"
                return LogRecord(receivedAt: LogRecord.microseconds(Date()), severity: number % 997 == 0 ? .err : .info,
                                 service: service, server: "\(service)-\(1 + number / 250_000)-abcd",
                                 generation: 1 + number / 250_000, appName: service, message: message)
            }
            try store.append(records)
        }
        print("  grep: \(total) records stored in \(String(format: "%.1f", (ContinuousClock.now - filling).timeInterval)) s"
              + " (\(store.totalBytes / 1_000_000) MB)")
        // The last three run the expression on nearly every record: "ms" is in almost all of
        // them, and an alternation leaves no required literal at all.
        let patterns = ["upstream timeout", "timeout after [0-9]{4}ms", "no such thing", "timeout after [0-9]{6}ms",
                        "[0-9]{7}ms", "(GET|POST) /entries/[0-9]+ 5[0-9]{2} ", "session=[0-9a-f]*dead|page=4[0-9]"]
        for pattern in patterns {
            var best = Double.infinity
            var found = 0
            for _ in 0..<3 {
                let began = ContinuousClock.now
                found = try store.query(LogQuery(grep: pattern, limit: 100)).count
                best = min(best, (ContinuousClock.now - began).timeInterval)
            }
            print("    --grep '\(pattern)': \(found) shown, \(String(format: "%.3f", best)) s"
                  + " (target < 1 s: \(best < 1 ? "met" : "MISSED"))")
        }
    }
}
