import Foundation
import PyreCore

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on the state directory, held for the agent's lifetime. The kernel
/// releases it when the process dies, so it never outlives its agent.
public final class AgentLock: Sendable {
    private let descriptor: Int32

    public init(file: URL) throws {
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw PyreError(.agent, "cannot open \(file.path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw PyreError(.agent, "another agent already runs for this state directory (\(file.deletingLastPathComponent().path)); use `pyre deploy` to talk to it, or stop it first")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
