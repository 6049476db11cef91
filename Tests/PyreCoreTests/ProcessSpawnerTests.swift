import Foundation
import Glibc
import PyreCore
import Testing

@Suite struct ProcessSpawnerTests {
    /// A child holding another thread's pipe would keep it from ever reaching end of file
    /// (this hung the whole test run once), so children get only 0, 1 and 2.
    @Test func childrenInheritOnlyTheirStandardDescriptors() throws {
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { pipeEnds.forEach { close($0) } }
        let pid = try ProcessSpawner.spawn(["sleep", "30"], environment: ProcessInfo.processInfo.environment,
                                           output: .files(stdout: "/dev/null", stderr: "/dev/null"))
        defer {
            kill(pid, SIGKILL)
            _ = ProcessSpawner.waitForExit(pid)
        }
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap(Int.init).sorted()
        #expect(descriptors == [0, 1, 2])
    }

    @Test func runReturnsStatusAndOutput() throws {
        let (status, output) = try ProcessSpawner.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(status == 3)
        #expect(output == "out\nerr\n")
    }

    @Test func aMissingProgramIsNamed() {
        #expect(throws: PyreError.self) {
            try ProcessSpawner.run(["pyre-no-such-program"])
        }
    }
}
