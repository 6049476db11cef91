import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A lock file held with flock(2): exclusive, and released by the kernel when the process ends,
/// however it ends, so it never outlives its holder.
public final class FileLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock at once, or throws `busy` when another holds it; with `wait`, waits for it.
    public init(file: URL, busy: PyreError, wait: Bool = false) throws {
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw PyreError(busy.code, "cannot open \(file.path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0 else {
            close(descriptor)
            throw busy
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
