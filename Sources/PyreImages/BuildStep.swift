#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PyreCore
import PyrePOSIX
import Synchronization

/// How a build step ended, with the last lines of its output (stdout and stderr merged).
struct BuildStepOutcome: Sendable {
    enum Termination: Sendable, Equatable {
        case exited(code: Int32)
        case signaled(Int32)
        case timedOut
    }

    var termination: Termination
    var lastLines: [String]
}

/// Runs one build step as `/bin/sh -c STEP` (or any program a bake runs: tar, mmdebstrap,
/// `pyre-sandbox build`) in its own process group.
///
/// The step leads its own process group, so a timeout or cancellation kills the whole
/// group: the shell and everything it started. When the shell exits, processes it left
/// behind are killed too (a bake must not leave daemons, and they would keep the output
/// pipe open).
enum BuildStep {
    static let keptLines = 20

    static func run(_ command: String, in directory: URL, environment: [String: String], timeout: Duration,
                    onLine: @escaping @Sendable (String) -> Void) async throws -> BuildStepOutcome {
        try await run(arguments: ["/bin/sh", "-c", command], in: directory, environment: environment, timeout: timeout,
                      onLine: onLine)
    }

    /// Runs `arguments` (a program and its arguments) the same way.
    static func run(arguments: [String], in directory: URL, environment: [String: String], timeout: Duration,
                    onLine: @escaping @Sendable (String) -> Void) async throws -> BuildStepOutcome {
        let (pid, output) = try spawn(arguments, in: directory, environment: environment)
        let group = ProcessGroup(leader: pid)
        let lines = readLines(from: output, onLine: onLine)
        let timer = Task {
            try await Task.sleep(for: timeout)
            group.kill(becauseOfTimeout: true)
        }
        let status = await withTaskCancellationHandler {
            await group.waitForExit()
        } onCancel: {
            group.kill(becauseOfTimeout: false)
        }
        timer.cancel()
        let lastLines = await lines.value
        try Task.checkCancellation()
        let termination: BuildStepOutcome.Termination =
            if group.timedOut { .timedOut }
            else if status & 0x7f == 0 { .exited(code: (status >> 8) & 0xff) }
            else { .signaled(status & 0x7f) }
        return BuildStepOutcome(termination: termination, lastLines: lastLines)
    }

    /// Starts the step with stdin from /dev/null and stdout and stderr into one pipe;
    /// returns its pid and the pipe's read end.
    private static func spawn(_ arguments: [String], in directory: URL,
                              environment: [String: String]) throws -> (pid_t, Int32) {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw posixError("cannot create a pipe for", arguments.joined(separator: " ")) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        // Other spawns must not inherit our pipe, or the output would never reach EOF.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { close(writeEnd) }

        do {
            let pid = try ProcessSpawner.spawn(arguments, environment: environment,
                                               workingDirectory: directory.path, output: .descriptor(writeEnd),
                                               group: .newGroup)
            return (pid, readEnd)
        } catch let error as PyreError {
            close(readEnd)
            throw PyreError(.bake, error.message)
        }
    }

    /// Reads `fd` to EOF on a dedicated thread, calling `onLine` for every line and
    /// returning the last `keptLines`.
    private static func readLines(from fd: Int32, onLine: @escaping @Sendable (String) -> Void) -> Task<[String], Never> {
        Task.detached {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    var splitter = LineSplitter(keep: keptLines, onLine: onLine)
                    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                        if count < 0 && errno == EINTR { continue }
                        if count <= 0 { break }
                        splitter.append(buffer[0..<count])
                    }
                    close(fd)
                    splitter.finish()
                    continuation.resume(returning: splitter.lastLines)
                }
            }
        }
    }
}

/// Splits a byte stream into lines (LF, optional CR before it; overlong lines are cut)
/// and keeps the last few.
struct LineSplitter {
    static let maximumLineLength = 16 * 1024

    private(set) var lastLines: [String] = []
    private var pending: [UInt8] = []
    private let keep: Int
    private let onLine: (String) -> Void

    init(keep: Int, onLine: @escaping (String) -> Void) {
        self.keep = keep
        self.onLine = onLine
    }

    mutating func append(_ bytes: some Collection<UInt8>) {
        for byte in bytes {
            if byte == 0x0A {
                emit()
            } else {
                pending.append(byte)
                if pending.count >= Self.maximumLineLength { emit() }
            }
        }
    }

    mutating func finish() {
        if !pending.isEmpty { emit() }
    }

    private mutating func emit() {
        if pending.last == 0x0D { pending.removeLast() }
        let line = String(decoding: pending, as: UTF8.self)
        pending.removeAll(keepingCapacity: true)
        lastLines.append(line)
        if lastLines.count > keep { lastLines.removeFirst() }
        onLine(line)
    }
}

/// A spawned step's process group. Killing by group id is only safe while the leader
/// is not reaped (until then its pid, which is the group id, cannot be reused), so kills
/// and the reap are serialised by a lock.
private final class ProcessGroup: Sendable {
    private struct State {
        var reaped = false
        var timedOut = false
    }

    private let leader: pid_t
    private let state = Mutex(State())

    init(leader: pid_t) {
        self.leader = leader
    }

    var timedOut: Bool { state.withLock { $0.timedOut } }

    func kill(becauseOfTimeout: Bool) {
        state.withLock { state in
            guard !state.reaped else { return }
            if becauseOfTimeout { state.timedOut = true }
            _ = killpg(leader, SIGKILL)
        }
    }

    /// Waits on a dedicated thread until the leader exits, kills what is left of its
    /// group, reaps it and returns its wait status.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { [self] in
                var info = siginfo_t()
                while waitid(P_PID, id_t(leader), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
                var status: Int32 = 0
                state.withLock { state in
                    _ = killpg(leader, SIGKILL)
                    while waitpid(leader, &status, 0) < 0 && errno == EINTR {}
                    state.reaped = true
                }
                continuation.resume(returning: status)
            }
        }
    }
}
