import Foundation
import Glibc
import PyreCore
import Testing

@Suite struct ProcessSpawnerTests {
    /// A child holding another thread's pipe would keep it from ever reaching end of file
    /// (this hung the whole test run once): with the child running, the pipe's reader sees
    /// end of file as soon as this process closes its own write end.
    @Test func childrenDoNotInheritOtherDescriptors() throws {
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]) }
        _ = fcntl(pipeEnds[0], F_SETFL, fcntl(pipeEnds[0], F_GETFL) | O_NONBLOCK)
        let pid = try ProcessSpawner.spawn(["sleep", "30"], environment: ProcessInfo.processInfo.environment,
                                           output: .files(stdout: "/dev/null", stderr: "/dev/null"))
        defer {
            kill(pid, SIGKILL)
            _ = ProcessSpawner.waitForExit(pid)
        }
        close(pipeEnds[1])
        var byte: UInt8 = 0
        // 0 is end of file; -1 with EAGAIN would mean the child still holds the write end.
        #expect(read(pipeEnds[0], &byte, 1) == 0)
    }

    @Test func runReturnsStatusAndOutput() throws {
        let (status, output) = try ProcessSpawner.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(status == 3)
        #expect(output == "out\nerr\n")
    }

    @Test func aMissingProgramIsNamed() {
        let error = #expect(throws: PyreError.self) {
            try ProcessSpawner.run(["pyre-no-such-program"])
        }
        #expect(error?.message.contains("`pyre-no-such-program`") == true)
    }

    @Test func aMissingWorkingDirectoryIsNamed() {
        let error = #expect(throws: PyreError.self) {
            try ProcessSpawner.spawn(["true"], environment: [:], workingDirectory: "/nonexistent/pyre-test",
                                     output: .files(stdout: "/dev/null", stderr: "/dev/null"))
        }
        #expect(error?.message.contains("in /nonexistent/pyre-test") == true)
    }
}
