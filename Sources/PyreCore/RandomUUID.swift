import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension UUID {
    /// A random (version 4) UUID. On Linux, Foundation's `UUID()` opens, reads and closes
    /// /dev/urandom for every id, and the standard library's generator makes a `getrandom`
    /// call per 8 bytes; ids here come from kernel randomness fetched 4 KiB at a time
    /// (``RandomBytes``), one system call per 256 ids. Appends that name new events create
    /// one per event, on the path every appender waits on.
    public static func random() -> UUID {
        var halves = RandomBytes.shared.next()
        return withUnsafeMutableBytes(of: &halves) { bytes in
            bytes[6] = bytes[6] & 0x0F | 0x40  // version 4
            bytes[8] = bytes[8] & 0x3F | 0x80  // RFC 9562 variant
            return UUID(uuid: bytes.load(as: uuid_t.self))
        }
    }
}

/// The kernel's random bytes (`getrandom`, through glibc's `arc4random_buf`), fetched a buffer
/// at a time and handed out 16 at a time, each once. Pyre's Swift processes never fork
/// without exec, so no two processes share a buffer.
final class RandomBytes: Sendable {
    static let shared = RandomBytes()
    private static let bufferSize = 4_096

    private struct State {
        var buffer = [UInt8](repeating: 0, count: RandomBytes.bufferSize)
        var used = RandomBytes.bufferSize
    }

    private let state = Mutex(State())

    /// 16 random bytes.
    func next() -> (UInt64, UInt64) {
        state.withLock { state in
            if state.used + 16 > state.buffer.count {
                state.buffer.withUnsafeMutableBytes(Self.fill)
                state.used = 0
            }
            defer { state.used += 16 }
            return state.buffer.withUnsafeBytes { bytes in
                (bytes.loadUnaligned(fromByteOffset: state.used, as: UInt64.self),
                 bytes.loadUnaligned(fromByteOffset: state.used + 8, as: UInt64.self))
            }
        }
    }

    /// One `getrandom` call for the whole buffer.
    private static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        arc4random_buf(buffer.baseAddress!, buffer.count)
    }
}
