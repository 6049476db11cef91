import Foundation
import Synchronization

/// Wakes waiters after appends (to the event store, to the log store). A waiter names the pulse count it last saw, so an
/// append between its read and its wait is never missed; the timeout bounds the wait for
/// appends made by other processes (another agent on the same PostgreSQL).
public final class AppendSignal: Sendable {
    private struct State {
        var pulses: UInt64 = 0
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var pulses: UInt64 { state.withLock { $0.pulses } }

    public func pulse() {
        let woken = state.withLock { state in
            state.pulses &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns once the count has moved past `seen`, after `timeout`, or on cancellation.
    public func wait(after seen: UInt64, timeout: Duration) async {
        let id = UUID()
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let alreadyMoved = state.withLock { state in
                    if state.pulses != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if alreadyMoved { continuation.resume() }
            }
        } onCancel: {
            resume(id)
        }
        timer.cancel()
    }

    private func resume(_ id: UUID) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
    }
}
