import ServiceLifecycle

/// One long-running part of the agent as a service of its group: it starts once the gates it
/// needs are open, opens its own, serves until the group shuts it down, then stops.
///
/// The group shuts its services down one by one in the reverse of their order, so a part
/// stops only after the parts listed after it, which may need it. A start that fails shuts
/// the group down the same way: whatever had started is undone, in order.
struct StagedService: Service, CustomStringConvertible {
    let description: String
    var after: [Gate] = []
    var ready: Gate?
    var start: @Sendable () async throws -> Void = {}
    /// Runs from start to shutdown (cancelled then); without it the part just waits.
    var serve: (@Sendable () async -> Void)?
    /// Also runs after a failed start, so a start need not undo its own first steps.
    var stop: @Sendable () async -> Void = {}

    func run() async throws {
        guard await waitForTurn(after) else { return }
        do {
            try await start()
        } catch {
            await stop()
            throw error
        }
        ready?.open()
        if let serve {
            await cancelWhenGracefulShutdown(serve)
        } else {
            try? await gracefulShutdown()
        }
        await stop()
    }
}

/// Waits until every gate is open; false when the group shut the waiting service down first
/// (another part failed to start), which then has nothing to undo.
func waitForTurn(_ gates: [Gate]) async -> Bool {
    do {
        try await cancelWhenGracefulShutdown {
            for gate in gates { try await gate.wait() }
        }
        return true
    } catch {
        return false
    }
}
