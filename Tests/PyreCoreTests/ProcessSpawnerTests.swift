import Foundation
import Glibc
import PyreCore
import PyrePOSIX
import Testing

@Suite struct ProcessSpawnerTests {
    /// A child holding another thread's pipe would keep it from ever reaching end of file
    /// (this hung the whole test run once). The child's descriptors are read from /proc: the
    /// pipe's end of file would also wait for children that other tests start meanwhile with
    /// other means, which inherit it (this failed CI once).
    @Test func childrenDoNotInheritOtherDescriptors() throws {
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        var status = stat()
        #expect(fstat(pipeEnds[1], &status) == 0)
        let pipeName = "pipe:[\(status.st_ino)]"
        // posix_spawn returns once the child has run its file actions and exec'd.
        let pid = try ProcessSpawner.spawn(["sleep", "30"], environment: ProcessInfo.processInfo.environment,
                                           output: .files(stdout: "/dev/null", stderr: "/dev/null"))
        defer {
            kill(pid, SIGKILL)
            _ = ProcessSpawner.waitForExit(pid)
        }
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        let targets = descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
        #expect(!targets.isEmpty, "the child's standard descriptors are listed")
        #expect(!targets.contains(pipeName), "the child holds \(pipeName): \(targets)")
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
