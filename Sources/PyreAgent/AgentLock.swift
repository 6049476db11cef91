import Foundation
import PyreCore

/// An exclusive lock on the state directory, held for the agent's lifetime. The kernel
/// releases it when the process dies, so it never outlives its agent.
public final class AgentLock: Sendable {
    private let lock: FileLock

    public init(file: URL) throws {
        lock = try FileLock(file: file, busy: PyreError(.agent, "another agent already runs for this state directory "
            + "(\(file.deletingLastPathComponent().path)); use `pyre deploy` to talk to it, or stop it first"))
    }
}
