import Glibc

/// One line of `/proc/PID/stat`, the fields Pyre needs.
struct ProcessStatus: Equatable {
    var pid: pid_t
    /// `R`, `S`, `Z`, …; `Z` is a zombie: ended, waiting to be reaped.
    var state: Character
    var parent: pid_t
    var group: pid_t
    var session: pid_t
    /// Clock ticks after boot (field 22): with the pid, it identifies a process even after
    /// the pid number is reused.
    var startTime: UInt64

    var isZombie: Bool { state == "Z" }
}

/// Reads the kernel's process table from `/proc`.
enum ProcessTable {
    static func status(of pid: pid_t) -> ProcessStatus? {
        guard let text = readSmallFile("/proc/\(pid)/stat"),
              let closing = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: closing)...].split(separator: " ")
        // fields[0] is field 3 (state) of proc(5); starttime is field 22.
        guard fields.count > 19, let state = fields[0].first,
              let parent = pid_t(fields[1]), let group = pid_t(fields[2]), let session = pid_t(fields[3]),
              let startTime = UInt64(fields[19]) else { return nil }
        return ProcessStatus(pid: pid, state: state, parent: parent, group: group, session: session,
                             startTime: startTime)
    }

    /// Every process visible in `/proc`.
    static func all() -> [ProcessStatus] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var result: [ProcessStatus] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let pid = pid_t(name), let status = status(of: pid) { result.append(status) }
        }
        return result
    }

    /// Processes, zombies included, whose session or process group is `id`.
    static func members(ofSessionOrGroup id: pid_t) -> [ProcessStatus] {
        all().filter { $0.session == id || $0.group == id }
    }

    /// Live processes whose environment holds every one of `entries` (`KEY=value`). Servers
    /// carry `PYRE_SYSTEM` and `PYRE_SERVER`, so this finds a server's processes even when
    /// the agent died before it could record their pid.
    static func processes(withEnvironment entries: [String]) -> [ProcessStatus] {
        let needles = entries.map { Array($0.utf8) }
        return all().filter { process in
            guard !process.isZombie, let environment = readEnvironment(of: process.pid) else { return false }
            let variables = environment.split(separator: 0)
            return needles.allSatisfy { needle in variables.contains { $0.elementsEqual(needle) } }
        }
    }

    private static func readEnvironment(of pid: pid_t) -> [UInt8]? {
        let descriptor = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while result.count < 1 << 20 {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        return result
    }

    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
