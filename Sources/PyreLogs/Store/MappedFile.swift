#if canImport(Glibc)
import Glibc
#endif

/// A file's first `length` bytes mapped read-only. A segment deleted by retention while a
/// query reads it stays readable through the mapping.
final class MappedFile {
    let bytes: UnsafeRawBufferPointer

    /// Nil when the file is gone or empty.
    init?(path: String, length: Int) {
        guard length > 0 else { return nil }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard let address = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, 0), address != MAP_FAILED else { return nil }
        // Queries read segments front to back.
        madvise(address, length, MADV_SEQUENTIAL)
        bytes = UnsafeRawBufferPointer(start: address, count: length)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}
