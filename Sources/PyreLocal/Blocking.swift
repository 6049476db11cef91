import Foundation

/// Runs `body` on a thread of its own and awaits it. Creating a server runs external tools
/// and waits for them; doing that on the (two-thread, here) cooperative pool would stall
/// health checks, timers and every other server's creation meanwhile.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
