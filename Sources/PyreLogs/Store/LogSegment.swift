import Foundation
import PyreCore
import PyrePOSIX

#if canImport(Glibc)
import Glibc
#endif

/// One segment file, `FIRST-SEQUENCE.seg` (20 digits, so names sort in order), and its summary.
struct LogSegment: Sendable {
    let path: String
    var summary: SegmentSummary

    static let suffix = ".seg"

    static func path(in directory: URL, firstSequence: UInt64) -> String {
        directory.appendingPathComponent(String(format: "%020llu", firstSequence) + suffix).path
    }

    var indexPath: String { String(path.dropLast(Self.suffix.count)) + ".idx" }

    /// The first sequence a segment file name gives, nil for other files.
    static func firstSequence(ofFileNamed name: String) -> UInt64? {
        guard name.hasSuffix(suffix), name.count == 20 + suffix.count else { return nil }
        return UInt64(name.prefix(20))
    }

    /// Reads the segment's records, checking each one's length and CRC, and returns the
    /// summary of the intact prefix: a torn tail (a write the crash cut short) ends it.
    static func scan(path: String, firstSequence: UInt64) -> (summary: SegmentSummary, fileSize: Int) {
        var summary = SegmentSummary(firstSequence: firstSequence)
        var status = stat()
        guard stat(path, &status) == 0, let file = MappedFile(path: path, length: Int(status.st_size)) else {
            return (summary, 0)
        }
        var offset = 0
        var expected = firstSequence
        var names = SegmentSummary.RecentNames()
        while let record = LogRecordCodec.frame(in: file.bytes, at: offset, verify: true), record.sequence == expected {
            summary.add(record, names: &names)
            offset += record.frameSize
            expected += 1
        }
        return (summary, Int(status.st_size))
    }

    /// The sealed segment's summary from its index file, nil when missing or not for this file.
    static func loadIndex(at path: String, firstSequence: UInt64) -> SegmentSummary? {
        guard let data = FileManager.default.contents(atPath: path),
              let summary = try? JSONDecoder().decode(SegmentSummary.self, from: data),
              summary.firstSequence == firstSequence else { return nil }
        return summary
    }

    func writeIndex() throws {
        let data = try JSONEncoder().encode(summary)
        try DurableFile.write(data, to: indexPath)
    }
}

/// Small file operations with the fsyncs that make them survive a crash.
enum DurableFile {
    /// Writes `data` to a temporary file, fsyncs it and renames it over `path`.
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary)") }
        defer { close(descriptor) }
        try data.withUnsafeBytes { try writeAll($0, to: descriptor, path: temporary) }
        guard fsync(descriptor) == 0, rename(temporary, path) == 0 else { throw failure("cannot write \(path)") }
        syncDirectory(of: path)
    }

    static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws {
        guard FileDescriptors.writeAll(bytes, to: descriptor) else { throw failure("cannot write \(path)") }
    }

    static func syncDirectory(of path: String) { FileDescriptors.syncDirectory(of: path) }

    static func failure(_ what: String) -> PyreError {
        let reason = String(cString: strerror(errno))
        let hint = errno == ENOSPC ? "; free disk space or lower logs: { max_size: } in pyre.yml" : ""
        return PyreError(.logs, "\(what): \(reason)\(hint)")
    }
}
