import Foundation
import PyreCore
import PyrePOSIX

#if canImport(Glibc)
import Glibc
#endif

/// The commit log's active segment, open for appending frames, each durable when
/// ``append(_:)`` returns.
///
/// Where the file system allows it, the file is opened `O_DIRECT | O_DSYNC`: a frame is written
/// with the whole 4 KiB blocks it touches, from an aligned copy of the segment's last, partial
/// block, and the write returns once the disk has it. No page-cache writeback, no separate
/// `fdatasync`: measured in C on the 2-core VM, 137–150 µs and 30 µs of CPU per 900-byte frame,
/// against 160–164 µs and 38 µs written and then synced. Rewriting a block rewrites the frames
/// already in it with the same bytes, so a write torn by a crash cannot damage them.
///
/// Elsewhere (tmpfs refuses `O_DIRECT`) frames are written, then `fdatasync`ed.
final class CommitLogSegmentFile {
    static let blockSize = 4_096

    let path: String
    /// Bytes of frames written; the rest of the file is zeros.
    private(set) var offset = 0
    private var descriptor: Int32
    /// Nil when the file is written through the page cache.
    private var tail: AlignedTail?

    /// Opens `path`, which holds zeros from its start, for appending frames.
    init(path: String, buffered descriptor: Int32, directIO: Bool) {
        self.path = path
        self.descriptor = descriptor
        guard directIO, let directFlag = Self.directFlag else { return }
        let direct = open(path, O_WRONLY | directFlag | O_DSYNC | O_CLOEXEC)
        guard direct >= 0 else { return }
        Glibc.close(descriptor)
        self.descriptor = direct
        tail = AlignedTail()
    }

    /// `O_DIRECT`, which Swift's Glibc module leaves out (glibc defines it only for _GNU_SOURCE).
    private static var directFlag: Int32? {
        #if arch(x86_64)
        0o40000
        #elseif arch(arm64)
        0o200000
        #else
        nil
        #endif
    }

    /// Writes `frame` after the frames written so far and makes it durable; false (with `errno`
    /// set) when the write or the sync failed, after which what the file holds is unknown.
    func append(_ frame: UnsafeRawBufferPointer) -> Bool {
        let written = tail.map { write(frame, through: $0) }
            ?? (lseek(descriptor, off_t(offset), SEEK_SET) >= 0 && FileDescriptors.writeAll(frame, to: descriptor)
                && fdatasync(descriptor) == 0)
        if written { offset += frame.count }
        return written
    }

    private func write(_ frame: UnsafeRawBufferPointer, through tail: AlignedTail) -> Bool {
        let blockStart = offset - tail.count
        let end = tail.count + frame.count
        let length = (end + Self.blockSize - 1) / Self.blockSize * Self.blockSize
        tail.reserve(length)
        tail.bytes.copyMemory(at: tail.count, from: frame)
        // The rest of the last block stays zeros, as on disk: zeros end a segment's frames.
        tail.bytes.zero(from: end, to: length)
        var done = 0
        while done < length {
            let result = pwrite(descriptor, tail.bytes.start + done, length - done, off_t(blockStart + done))
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return false }
            done += result
        }
        tail.keepLastPartialBlock(of: end)
        return true
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }
}

/// The segment's bytes from the start of its last, partial block to the end of its frames, in
/// memory aligned for `O_DIRECT`, with room behind them for the next frame.
private final class AlignedTail {
    private(set) var bytes = AlignedBytes(capacity: 64 << 10)
    /// Bytes of frames held, from the start of the block.
    private(set) var count = 0

    /// Makes room for `length` bytes from the start of the block.
    func reserve(_ length: Int) {
        guard length > bytes.capacity else { return }
        var grown = AlignedBytes(capacity: max(length, bytes.capacity * 2))
        grown.start.copyMemory(from: bytes.start, byteCount: count)
        swap(&grown, &bytes)
        grown.free()
    }

    /// After a write of `end` bytes from the block's start: the full blocks are on disk, and
    /// what follows them (part of a block) starts the next write.
    func keepLastPartialBlock(of end: Int) {
        let fullBlocks = end / CommitLogSegmentFile.blockSize * CommitLogSegmentFile.blockSize
        if fullBlocks > 0 { bytes.start.copyMemory(from: bytes.start + fullBlocks, byteCount: end - fullBlocks) }
        count = end - fullBlocks
    }

    deinit { bytes.free() }
}

private struct AlignedBytes {
    let start: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, CommitLogSegmentFile.blockSize, capacity) == 0, let memory else {
            fatalError("out of memory for \(capacity) bytes of the commit log")
        }
        start = memory
        self.capacity = capacity
    }

    func copyMemory(at offset: Int, from source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress else { return }
        (start + offset).copyMemory(from: base, byteCount: source.count)
    }

    func zero(from: Int, to end: Int) {
        (start + from).initializeMemory(as: UInt8.self, repeating: 0, count: end - from)
    }

    func free() { Glibc.free(start) }
}
