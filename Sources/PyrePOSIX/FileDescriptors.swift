import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Plain file-descriptor operations that the stores' durable files share.
package enum FileDescriptors {
    /// Writes every byte at the descriptor's offset, retrying short writes and EINTR.
    /// False when a write failed; `errno` then says why.
    package static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Bool {
        var written = 0
        while written < bytes.count {
            let result = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += result
        }
        return true
    }

    /// Makes a created, renamed or removed file's directory entry durable.
    package static func syncDirectory(of path: String) {
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        fsync(directory)
        close(directory)
    }
}
