import Foundation
import PyreCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The central log store: records appended in batches to segment files, each batch fsynced
/// before `append` returns, so what was reported committed survives a crash. On open, a
/// torn tail left by a crash is found by its CRC and cut off; everything before it is kept.
/// Sealed segments carry a summary (time range, names, generations, severities) that lets
/// queries skip them; retention removes whole sealed segments by age and total size.
/// See docs/logs.md, "Storing".
public final class LogStore: Sendable {
    public let configuration: LogStoreConfiguration
    /// Pulsed after every committed batch; followers wait on it.
    public let commits = AppendSignal()

    private struct Active: Sendable {
        var descriptor: Int32
        var segment: LogSegment
        var nextSequence: UInt64
        var encoded: [UInt8] = []
        var recentNames = SegmentSummary.RecentNames()
    }

    /// Held while a batch is written and fsynced; only the writer takes it.
    private let writer: Mutex<Active?>
    /// What readers see: sealed segments and the active one up to its committed length.
    private let segments: Mutex<[LogSegment]>

    public init(configuration: LogStoreConfiguration) throws {
        self.configuration = configuration
        let directory = configuration.directory
        // Log lines are for their owner only, like the segments and indexes in it.
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let firsts = names.compactMap(LogSegment.firstSequence(ofFileNamed:)).sorted()
        var opened: [LogSegment] = []
        for first in firsts.dropLast() {
            let path = LogSegment.path(in: directory, firstSequence: first)
            var segment = LogSegment(path: path, summary: SegmentSummary(firstSequence: first))
            if let summary = LogSegment.loadIndex(at: segment.indexPath, firstSequence: first) {
                segment.summary = summary
            } else {
                segment.summary = LogSegment.scan(path: path, firstSequence: first).summary
                try segment.writeIndex()
            }
            opened.append(segment)
        }
        let activeFirst = firsts.last ?? (opened.last.map { $0.summary.lastSequence + 1 } ?? 1)
        let activePath = LogSegment.path(in: directory, firstSequence: activeFirst)
        let (summary, fileSize) = LogSegment.scan(path: activePath, firstSequence: activeFirst)
        let descriptor = try Self.openForAppend(activePath, keeping: summary.bytes, of: fileSize)
        let active = LogSegment(path: activePath, summary: summary)
        writer = Mutex(Active(descriptor: descriptor, segment: active, nextSequence: summary.lastSequence &+ 1))
        segments = Mutex(opened + [active])
    }

    deinit { close() }

    /// Stops writing; later appends fail.
    public func close() {
        writer.withLock { active in
            if let descriptor = active?.descriptor { Glibc.close(descriptor) }
            active = nil
        }
    }

    /// The newest committed record's sequence, 0 when the store is empty.
    public var lastSequence: UInt64 {
        segments.withLock { $0.last?.summary.lastSequence ?? 0 }
    }

    /// Total bytes of committed records.
    public var totalBytes: Int {
        segments.withLock { $0.reduce(0) { $0 + $1.summary.bytes } }
    }

    /// Numbers `records` in order and writes them as one batch, returning once the batch
    /// is on disk. Their `sequence` fields are ignored.
    @discardableResult
    public func append(_ records: [LogRecord]) throws -> ClosedRange<UInt64>? {
        guard !records.isEmpty else { return nil }
        var sealed = false
        let range = try writer.withLock { active -> ClosedRange<UInt64> in
            guard active != nil else { throw PyreError(.logs, "the log store is closed") }
            let first = active!.nextSequence
            active!.encoded.removeAll(keepingCapacity: true)
            for (offset, record) in records.enumerated() {
                var numbered = record
                numbered.sequence = first + UInt64(offset)
                LogRecordCodec.encode(numbered, into: &active!.encoded)
            }
            let size = active!.segment.summary.bytes
            if size > 0, size + active!.encoded.count > configuration.segmentBytes {
                try rollOver(&active!)
                sealed = true
            }
            try write(&active!)
            return first...(active!.nextSequence - 1)
        }
        commits.pulse()
        if sealed { _ = try? enforceRetention() }
        return range
    }

    /// How many records match `query`, whatever its limit and order.
    public func count(_ query: LogQuery) throws -> Int {
        let filter = try LogRecordFilter(query)
        var total = 0
        for segment in segments.withLock({ $0 }) where segment.summary.mayMatch(query) {
            Self.withRecords(of: segment) { bytes in
                var offset = 0
                while let record = LogRecordCodec.frame(in: bytes, at: offset, verify: false) {
                    if filter.matches(record) { total += 1 }
                    offset += record.frameSize
                }
            }
        }
        return total
    }

    /// Records matching `query`, oldest first.
    public func query(_ query: LogQuery) throws -> [LogRecord] {
        let filter = try LogRecordFilter(query)
        let candidates = segments.withLock { $0 }.filter { $0.summary.mayMatch(query) }
        let limit = max(query.limit, 0)
        var found: [LogRecord] = []
        switch query.order {
        case .oldest:
            for segment in candidates where found.count < limit {
                Self.withRecords(of: segment) { bytes in
                    var offset = 0
                    while found.count < limit, let record = LogRecordCodec.frame(in: bytes, at: offset, verify: false) {
                        if filter.matches(record) { found.append(record.decode()) }
                        offset += record.frameSize
                    }
                }
            }
        case .newest:
            // Newest segments first, as many at a time as there are cores, until enough matched.
            var remaining = ArraySlice(candidates.reversed())
            let width = max(ProcessInfo.processInfo.activeProcessorCount, 1)
            while found.count < limit, !remaining.isEmpty {
                let chunk = Array(remaining.prefix(width))
                remaining = remaining.dropFirst(width)
                let wanted = limit - found.count
                let results = Mutex([[LogRecord]](repeating: [], count: chunk.count))
                DispatchQueue.concurrentPerform(iterations: chunk.count) { index in
                    // Each thread its own filter: the regex matcher is not shareable.
                    guard let filter = try? LogRecordFilter(query) else { return }
                    let newest = Self.newest(wanted, in: chunk[index], matching: filter)
                    results.withLock { $0[index] = newest }
                }
                for records in results.withLock({ $0 }) {
                    found = Array(records.suffix(limit - found.count)) + found
                    if found.count >= limit { break }
                }
            }
        }
        return found
    }

    /// Removes sealed segments older than `maxAge` and, oldest first, those that make the
    /// store larger than `maxBytes`. Returns how many were removed.
    @discardableResult
    public func enforceRetention(now: Date = Date()) throws -> Int {
        let removed = segments.withLock { segments -> [LogSegment] in
            var removed: [LogSegment] = []
            var total = segments.reduce(0) { $0 + $1.summary.bytes }
            let cutoff = configuration.maxAge.map { LogRecord.microseconds(now) - Int64($0.components.seconds) * 1_000_000 }
            while segments.count > 1 {
                let oldest = segments[0].summary
                let tooOld = cutoff.map { oldest.count > 0 && oldest.maxReceivedAt < $0 } ?? false
                let tooBig = configuration.maxBytes.map { total > $0 } ?? false
                guard tooOld || tooBig || oldest.count == 0 else { break }
                total -= oldest.bytes
                removed.append(segments.removeFirst())
            }
            return removed
        }
        for segment in removed {
            unlink(segment.path)
            unlink(segment.indexPath)
        }
        if let last = removed.last { DurableFile.syncDirectory(of: last.path) }
        return removed.count
    }

    // MARK: - Writing

    private func write(_ active: inout Active) throws {
        let committed = active.segment.summary.bytes
        do {
            try active.encoded.withUnsafeBytes { try DurableFile.writeAll($0, to: active.descriptor, path: active.segment.path) }
            guard fdatasync(active.descriptor) == 0 else { throw DurableFile.failure("cannot sync \(active.segment.path)") }
        } catch {
            // Nothing of a failed batch may stay behind to be read as committed after a restart.
            _ = ftruncate(active.descriptor, off_t(committed))
            throw error
        }
        active.encoded.withUnsafeBytes { bytes in
            var offset = 0
            while let record = LogRecordCodec.frame(in: bytes, at: offset, verify: false) {
                active.segment.summary.add(record, names: &active.recentNames)
                offset += record.frameSize
            }
        }
        active.nextSequence = active.segment.summary.lastSequence + 1
        let segment = active.segment
        segments.withLock { $0[$0.count - 1] = segment }
    }

    /// Seals the active segment (its index written) and starts the next one.
    private func rollOver(_ active: inout Active) throws {
        try active.segment.writeIndex()
        let path = LogSegment.path(in: configuration.directory, firstSequence: active.nextSequence)
        let descriptor = try Self.openForAppend(path, keeping: 0, of: 0)
        Glibc.close(active.descriptor)
        DurableFile.syncDirectory(of: path)
        let sealed = active.segment
        active.descriptor = descriptor
        active.segment = LogSegment(path: path, summary: SegmentSummary(firstSequence: active.nextSequence))
        active.recentNames = SegmentSummary.RecentNames()
        let next = active.segment
        segments.withLock { segments in
            segments[segments.count - 1] = sealed
            segments.append(next)
        }
    }

    /// Opens a segment for appending, cutting off a torn tail beyond its intact `length`.
    private static func openForAppend(_ path: String, keeping length: Int, of fileSize: Int) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DurableFile.failure("cannot open the log segment \(path)") }
        if fileSize > length {
            guard ftruncate(descriptor, off_t(length)) == 0, fsync(descriptor) == 0 else {
                Glibc.close(descriptor)
                throw DurableFile.failure("cannot cut the torn tail of \(path)")
            }
        }
        return descriptor
    }

    // MARK: - Reading

    /// The last `count` records of `segment` that match, oldest first; only those are decoded.
    private static func newest(_ count: Int, in segment: LogSegment, matching filter: LogRecordFilter) -> [LogRecord] {
        var records: [LogRecord] = []
        withRecords(of: segment) { bytes in
            var ring = NewestOffsets(capacity: count)
            var offset = 0
            while let record = LogRecordCodec.frame(in: bytes, at: offset, verify: false) {
                if filter.matches(record) { ring.add(offset) }
                offset += record.frameSize
            }
            records = ring.offsets.compactMap { LogRecordCodec.frame(in: bytes, at: $0, verify: false)?.decode() }
        }
        return records
    }

    /// Maps `segment`'s committed bytes for `body`; a segment retention removed is skipped.
    private static func withRecords(of segment: LogSegment, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard let file = MappedFile(path: segment.path, length: segment.summary.bytes) else { return }
        body(file.bytes)
    }
}

/// The last `capacity` offsets offered, oldest first.
private struct NewestOffsets {
    let capacity: Int
    private var ring: [Int] = []
    private var next = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func add(_ offset: Int) {
        guard capacity > 0 else { return }
        if ring.count < capacity {
            ring.append(offset)
        } else {
            ring[next] = offset
            next = (next + 1) % capacity
        }
    }

    var offsets: [Int] { Array(ring[next...] + ring[..<next]) }
}
