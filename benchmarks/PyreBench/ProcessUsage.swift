import Foundation

/// What processes use, from the kernel: anonymous resident memory and CPU time.
enum ProcessUsage {
    /// Anonymous resident memory (RssAnon: the heap, not mapped files such as a database), from
    /// /proc, in MB.
    static func anonymousMegabytes(of pid: Int32? = nil) -> Int {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        let status = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") }
        let kilobytes = line?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes / 1024
    }

    /// CPU time this process has used, on all its threads, to the nanosecond.
    static func ownCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }

    /// User and system time of other processes, from /proc/PID/stat (Linux): utime and stime,
    /// fields 14 and 15, in clock ticks. A process that is gone counts nothing.
    static func cpuSeconds(of pids: [Int32]) -> Double {
        let ticks = pids.compactMap { pid -> Int? in
            guard let fields = statFields(of: pid) else { return nil }
            return Int(fields[11])! + Int(fields[12])!
        }
        return Double(ticks.reduce(0, +)) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU time of a process and all its children, live or already reaped (Linux): a
    /// PostgreSQL server's, whose backends come and go with their connections.
    static func cpuSecondsWithChildren(of pid: Int32) -> Double {
        let live = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { entry -> Int32? in
            guard let child = Int32(entry), let fields = statFields(of: child) else { return nil }
            return Int32(fields[1]) == pid ? child : nil  // field 4, the parent
        } ?? []
        return cpuSeconds(of: live + [pid]) + reapedChildrenSeconds(of: pid)
    }

    /// cutime and cstime (fields 16 and 17): the children a process has waited for.
    private static func reapedChildrenSeconds(of pid: Int32) -> Double {
        guard let fields = statFields(of: pid) else { return 0 }
        let ticks = fields[13...14].compactMap { Int($0) }.reduce(0, +)
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The fields of /proc/PID/stat after the command name, from field 3 (the state) on; nil
    /// when the process is gone.
    private static func statFields(of pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: end)...].split(separator: " ")
    }
}
