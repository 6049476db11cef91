import Foundation
import Glibc
import PyreCore

/// Starts processes with `posix_spawnp`: no fork of the (multi-threaded) agent, a clean
/// signal state, and only the file descriptors the child is meant to have. Every child
/// Pyre starts goes through here: a child that inherited another thread's pipe would keep
/// that pipe open, and whoever reads it would wait for an end of file that never comes.
public enum ProcessSpawner {
    /// Where the child's stdout and stderr go.
    public enum Output: Sendable {
        /// Appended to these files (the same path for both is fine), created when missing.
        case files(stdout: String, stderr: String)
        /// Written to this open descriptor.
        case descriptor(Int32)
    }

    /// The process group the child joins.
    public enum Group: Sendable {
        /// The caller's.
        case inherited
        /// A new group led by the child, whose id is its pid.
        case newGroup
        /// A new session and group led by the child.
        case newSession
    }

    /// Starts `arguments` (argv[0] resolved via PATH) and returns its pid.
    public static func spawn(_ arguments: [String], environment: [String: String], workingDirectory: String? = nil,
                             output: Output, group: Group = .inherited) throws -> pid_t {
        guard let executable = arguments.first else {
            throw PyreError(.provider, "cannot start a process without a command; give the image a `run` command")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .files(let stdout, let stderr):
            posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            if stderr == stdout {
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
            } else {
                posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            }
        case .descriptor(let descriptor):
            posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        if let workingDirectory {
            guard let addChdir = GNUSpawnExtensions.addChdir else {
                throw PyreError(.provider, "this C library lacks posix_spawn_file_actions_addchdir_np; use glibc 2.29 or newer")
            }
            _ = addChdir(&actions, workingDirectory)
        }
        if let addClosefrom = GNUSpawnExtensions.addClosefrom {
            _ = addClosefrom(&actions, 3)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The agent may ignore or block signals (SIGPIPE, say); servers start from the defaults.
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        switch group {
        case .inherited: break
        case .newGroup:
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        case .newSession: flags |= GNUSpawnExtensions.setsidFlag
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            let reason = String(cString: strerror(result))
            let place = workingDirectory.map { " in \($0)" } ?? ""
            let directoryCheck = workingDirectory == nil ? "" : " and that the directory exists"
            throw PyreError(.provider, "cannot start `\(executable)`\(place): \(reason); check that it exists and is "
                + "executable (PATH is searched)\(directoryCheck)")
        }
        return pid
    }

    /// Runs a short-lived tool to completion and returns its exit status and combined output.
    public static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw PyreError(.provider, "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // Children close every descriptor above 2 (see spawn), so only the agent needs CLOEXEC.
        for descriptor in fds { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        let pid: pid_t
        do {
            pid = try spawn(arguments, environment: environment, output: .descriptor(fds[1]))
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count > 0 { output += buffer[0..<count] } else if count == 0 || errno != EINTR { break }
        }
        close(fds[0])
        let status = waitForExit(pid)
        return (status, String(decoding: output, as: UTF8.self))
    }

    /// Blocks until the child `pid` ends and returns its status as in ``decode(_:)``.
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return -1 }
        }
        return decode(status)
    }

    /// A wait status as one number: the exit code, or 128 plus the signal that ended the
    /// process (the shell's convention).
    public static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// glibc extensions that Swift's Glibc module does not import (they need `_GNU_SOURCE`),
/// looked up at run time instead.
private enum GNUSpawnExtensions {
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// `POSIX_SPAWN_SETSID` from glibc's spawn.h.
    static let setsidFlag: Int32 = 0x80

    static let addChdir = cLibrarySymbol("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
    static let addClosefrom = cLibrarySymbol("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self)
}
