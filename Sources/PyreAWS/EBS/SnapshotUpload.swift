import Foundation
import PyreCore
import Synchronization

/// Writes a disk image into a new EBS snapshot through the EBS direct APIs: only the blocks
/// holding data (holes and all-zero blocks read as zeros anyway), many at once, each retried
/// by the client's policy. Every block written is noted in a journal beside the disk, so a bake
/// that crashed goes on with the same snapshot and sends only what it had not.
public struct SnapshotUpload: Sendable {
    public struct Progress: Sendable {
        public var blocksDone: Int
        public var blocksTotal: Int
        public var bytesSent: Int64
        public var elapsed: Duration
        /// Blocks the journal of an interrupted upload said were written already.
        public var blocksResumed: Int
    }

    public var ebs: EBSClient
    /// Requests in flight at once.
    public var parallelism: Int

    public init(ebs: EBSClient, parallelism: Int = 16) {
        self.ebs = ebs
        self.parallelism = parallelism
    }

    /// Uploads `disk` (its size a whole number of GiB) and completes the snapshot; returns its id.
    /// `journal` keeps what was written, and then that the snapshot is complete: remove it once
    /// the snapshot is in use. A journal whose snapshot EBS refuses blocks for (timed out, gone)
    /// is dropped, and the upload starts over with a new snapshot.
    public func upload(disk: URL, description: String, tags: [String: String], journal: URL,
                       onProgress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> String {
        let reader = try DiskBlocks(disk)
        let gibibytes = Int((reader.bytes + (1 << 30) - 1) >> 30)
        var record = UploadJournal.read(journal)
        if record?.gibibytes != gibibytes { record = nil }
        if let record, record.completed { return record.snapshot }
        if let record {
            do {
                return try await upload(reader, into: record, description: description, tags: tags, journal: journal,
                                        onProgress: onProgress)
            } catch let error as AWSError where error.kind == .service {
                // Refused (still, after the retries): not a snapshot that takes blocks any more.
                try? FileManager.default.removeItem(at: journal)
            }
        }
        let snapshot = try await ebs.startSnapshot(gibibytes: gibibytes, description: description, tags: tags,
                                                   clientToken: UUID().uuidString.lowercased()).id
        try UploadJournal.start(journal, snapshot: snapshot, gibibytes: gibibytes)
        let fresh = UploadJournal.Record(snapshot: snapshot, gibibytes: gibibytes, blocks: [:], completed: false)
        return try await upload(reader, into: fresh, description: description, tags: tags, journal: journal,
                                onProgress: onProgress)
    }

    private func upload(_ reader: DiskBlocks, into record: UploadJournal.Record, description: String, tags: [String: String],
                        journal: URL, onProgress: @escaping @Sendable (Progress) -> Void) async throws -> String {
        let snapshot = record.snapshot
        let candidates = try reader.dataBlocks()
        // Only lines naming blocks of this disk count (a line torn by a crash may not).
        let known = Set(candidates)
        let resumed = record.blocks.filter { known.contains($0.key) }
        let pending = candidates.filter { resumed[$0] == nil }
        let start = ContinuousClock.now
        let state = UploadState(checksums: resumed)
        let appender = try UploadJournal.Appender(journal)
        defer { appender.close() }
        onProgress(Progress(blocksDone: resumed.count, blocksTotal: candidates.count, bytesSent: 0, elapsed: .zero,
                            blocksResumed: resumed.count))

        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = pending.makeIterator()
            func addNext() -> Bool {
                guard let index = next.next() else { return false }
                group.addTask {
                    let block = try reader.block(index)
                    if block.withUnsafeBytes(ZeroBytes.areAllZero) {
                        state.update { $0.skipped += 1 }
                    } else {
                        let checksum = EBSClient.checksum(block)
                        try await ebs.putSnapshotBlock(snapshot, index: index, data: block, checksum: checksum.text)
                        appender.note("\(index) \(checksum.text)")
                        state.update {
                            $0.checksums[index] = checksum.text
                            $0.bytesSent += Int64(block.count)
                        }
                    }
                    let progress = state.update { state in
                        Progress(blocksDone: state.checksums.count + state.skipped, blocksTotal: candidates.count,
                                 bytesSent: state.bytesSent, elapsed: ContinuousClock.now - start, blocksResumed: resumed.count)
                    }
                    onProgress(progress)
                }
                return true
            }
            for _ in 0..<max(1, parallelism) where addNext() {}
            while try await group.next() != nil { _ = addNext() }
        }

        let checksums = state.update { $0.checksums }
        try await ebs.completeSnapshot(snapshot, changedBlocks: checksums.count,
                                       aggregateChecksum: Self.aggregateChecksum(checksums))
        appender.note(UploadJournal.completedLine)
        return snapshot
    }
}

extension SnapshotUpload {
    /// CompleteSnapshot's LINEAR aggregate: the SHA-256 of the blocks' SHA-256s (decoded),
    /// concatenated in block order, in base64.
    static func aggregateChecksum(_ checksums: [Int: String]) -> String {
        var aggregate: [UInt8] = []
        for index in checksums.keys.sorted() { aggregate += Data(base64Encoded: checksums[index]!) ?? Data() }
        return EBSClient.checksum(aggregate).text
    }
}

private final class UploadState: Sendable {
    struct Counts {
        var checksums: [Int: String]
        var skipped = 0
        var bytesSent: Int64 = 0
    }

    private let counts: Mutex<Counts>

    init(checksums: [Int: String]) { counts = Mutex(Counts(checksums: checksums)) }

    func update<T>(_ change: (inout Counts) -> T) -> T { counts.withLock { change(&$0) } }
}

/// A disk image read in EBS blocks.
final class DiskBlocks: Sendable {
    let bytes: UInt64
    private let descriptor: Int32
    private let path: String

    init(_ file: URL) throws {
        path = file.path
        descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0 else {
            throw PyreError(.bake, "cannot read the disk image \(file.path): \(String(cString: strerror(errno)))")
        }
        bytes = UInt64(info.st_size)
    }

    deinit { close(descriptor) }

    /// The blocks that hold data, as the filesystem says (SEEK_DATA): holes are skipped unread.
    func dataBlocks() throws -> [Int] {
        let size = Int64(EBSClient.blockSize)
        var blocks: [Int] = []
        for region in DataRegions.of(descriptor, size: Int64(bytes)) {
            let first = region.lowerBound / size, last = (region.upperBound + size - 1) / size
            for index in first..<last where blocks.last.map({ $0 < Int(index) }) ?? true { blocks.append(Int(index)) }
        }
        return blocks
    }

    func block(_ index: Int) throws -> [UInt8] {
        let size = EBSClient.blockSize
        var block = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let count = block.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + done, size - done, off_t(index * size + done))
            }
            if count == 0 { break }  // past the end: zeros
            guard count > 0 else { throw PyreError(.bake, "cannot read \(path): \(String(cString: strerror(errno)))") }
            done += count
        }
        return block
    }
}

/// The journal of an upload: a first line naming the snapshot and the volume's size, then one
/// line per block written (`INDEX CHECKSUM`), then `completed` once the snapshot is. A line cut
/// short by a crash is cut off when the journal is opened again: that block is written again,
/// which EBS allows on a snapshot not yet complete.
enum UploadJournal {
    struct Record {
        var snapshot: String
        var gibibytes: Int
        var blocks: [Int: String]
        var completed: Bool
    }

    static let completedLine = "completed"

    static func read(_ file: URL) -> Record? {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        // Only whole lines: what follows the last line break is a write a crash cut short.
        let whole = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
        var lines = whole.split(separator: "\n", omittingEmptySubsequences: true).makeIterator()
        guard let header = lines.next()?.split(separator: " "), header.count == 3, header[0] == "snapshot",
              let gibibytes = Int(header[2]) else { return nil }
        var record = Record(snapshot: String(header[1]), gibibytes: gibibytes, blocks: [:], completed: false)
        while let line = lines.next() {
            if line == completedLine { record.completed = true; continue }
            let fields = line.split(separator: " ")
            guard fields.count == 2, let index = Int(fields[0]), fields[1].count == 44 else { continue }
            record.blocks[index] = String(fields[1])
        }
        return record
    }

    static func start(_ file: URL, snapshot: String, gibibytes: Int) throws {
        try "snapshot \(snapshot) \(gibibytes)\n".write(to: file, atomically: true, encoding: .utf8)
    }

    /// Appends lines; each is one write(2) with O_APPEND, so lines never interleave. Opening cuts
    /// off a last line a crash left without its line break.
    final class Appender: Sendable {
        private let descriptor: Int32

        init(_ file: URL) throws {
            let text = (try? Data(contentsOf: file)) ?? Data()
            if let last = text.lastIndex(of: UInt8(ascii: "\n")), last != text.count - 1 {
                truncate(file.path, off_t(last + 1))
            }
            descriptor = open(file.path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw PyreError(.bake, "cannot write the upload journal \(file.path): \(String(cString: strerror(errno)))")
            }
        }

        func note(_ line: String) {
            let text = line + "\n"
            _ = text.withCString { write(descriptor, $0, strlen($0)) }
        }

        func close() { _ = Glibc.close(descriptor) }
    }
}
