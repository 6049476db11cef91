import Foundation

/// Anonymous resident memory (RssAnon: the heap, not mapped files such as a database), from
/// /proc, in MB.
enum ProcessMemory {
    static func anonymousMegabytes(of pid: Int32? = nil) -> Int {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        let status = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") }
        let kilobytes = line?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes / 1024
    }
}
