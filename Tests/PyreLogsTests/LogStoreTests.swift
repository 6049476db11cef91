import Foundation
import PyreCore
import PyreTesting
import Testing
@testable import PyreLogs

@Suite struct LogStoreTests {
    static let base = LogRecord.microseconds(Date(timeIntervalSince1970: 1_800_000_000))

    static func record(_ index: Int, service: String = "web", generation: Int? = 1,
                       severity: SyslogSeverity = .info, at time: Int64? = nil) -> LogRecord {
        LogRecord(receivedAt: time ?? base + Int64(index) * 1_000_000, facility: .local3, severity: severity,
                  service: service, server: "\(service)-\(generation ?? 0)-abcd", generation: generation,
                  hostname: "\(service)-host", appName: service, message: "message \(index)")
    }

    @Test func recordsComeBackWithEveryField() throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let store = try LogStore(configuration: .init(directory: directory.url))
        let full = LogRecord(
            receivedAt: Self.base, timestamp: Self.base - 1_500, facility: .authpriv, severity: .crit, format: .rfc3164,
            source: .syslog, service: "api", server: "api-2-ffff", generation: 2, hostname: "h", appName: "su",
            procID: "123", msgID: "ID47", structuredData: #"[a b="c\]"]"#, message: "héllo\u{0}wörld",
            parseError: "invalid timestamp", truncated: true)
        let bare = LogRecord(receivedAt: Self.base + 1, source: .stderr, message: "")
        #expect(try store.append([full, bare]) == 1...2)
        let read = try store.query(LogQuery(order: .oldest))
        var expectedFull = full
        expectedFull.sequence = 1
        var expectedBare = bare
        expectedBare.sequence = 2
        #expect(read == [expectedFull, expectedBare])
    }

    @Test func sequencesContinueAfterReopening() throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        do {
            let store = try LogStore(configuration: .init(directory: directory.url))
            try store.append((0..<5).map { Self.record($0) })
        }
        let reopened = try LogStore(configuration: .init(directory: directory.url))
        #expect(reopened.lastSequence == 5)
        #expect(try reopened.append([Self.record(5)]) == 6...6)
        #expect(try reopened.query(LogQuery(limit: 10)).map(\.sequence) == Array(1...6))
    }

    /// A crash in the middle of a batch's write leaves a partial record: it is cut on open
    /// and everything before it stays.
    @Test(arguments: [1, 7, 20, 60])
    func aTornTailIsCutOff(keptBytesOfLastRecord: Int) throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let path: String
        let intact: Int
        do {
            let store = try LogStore(configuration: .init(directory: directory.url))
            try store.append((0..<10).map { Self.record($0) })
            intact = store.totalBytes
            try store.append([Self.record(10)])
            path = LogSegment.path(in: directory.url, firstSequence: 1)
        }
        #expect(truncate(path, off_t(intact + keptBytesOfLastRecord)) == 0)
        let reopened = try LogStore(configuration: .init(directory: directory.url))
        #expect(reopened.lastSequence == 10)
        #expect(try fileSize(path) == intact)
        #expect(try reopened.append([Self.record(11)]) == 11...11)
        let messages = try reopened.query(LogQuery(limit: 100)).map(\.message)
        #expect(messages == (0..<10).map { "message \($0)" } + ["message 11"])
    }

    @Test func aCorruptedLastRecordIsCutOff() throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let path = LogSegment.path(in: directory.url, firstSequence: 1)
        do {
            let store = try LogStore(configuration: .init(directory: directory.url))
            try store.append((0..<3).map { Self.record($0) })
        }
        // Flip a byte of the last record's message: its CRC no longer matches.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size - 2)
        try handle.write(contentsOf: Data("X".utf8))
        try handle.close()
        let reopened = try LogStore(configuration: .init(directory: directory.url))
        #expect(reopened.lastSequence == 2)
    }

    @Test func filtersSelectByServiceServerGenerationSeverityTimeAndText() throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let store = try LogStore(configuration: .init(directory: directory.url))
        try store.append([
            Self.record(0, service: "web", generation: 1, severity: .info),
            Self.record(1, service: "web", generation: 2, severity: .warning),
            Self.record(2, service: "api", generation: 1, severity: .err),
            Self.record(3, service: "web", generation: 2, severity: .debug),
            LogRecord(receivedAt: Self.base + 4_000_000, appName: "cron", message: "nightly job failed: disk"),
        ])
        func messages(_ query: LogQuery) throws -> [String] { try store.query(query).map(\.message) }
        #expect(try messages(LogQuery(service: "web")) == ["message 0", "message 1", "message 3"])
        #expect(try messages(LogQuery(service: "cron")) == ["nightly job failed: disk"])
        #expect(try messages(LogQuery(server: "web-2-abcd")) == ["message 1", "message 3"])
        #expect(try messages(LogQuery(service: "web", generation: 2)) == ["message 1", "message 3"])
        #expect(try messages(LogQuery(severity: .warning)) == ["message 1", "message 2"])
        #expect(try messages(LogQuery(since: Self.base + 1_000_000, until: Self.base + 2_000_000)) == ["message 1", "message 2"])
        #expect(try messages(LogQuery(grep: "failed: d")) == ["nightly job failed: disk"])
        #expect(try messages(LogQuery(grep: "message [13]$")) == ["message 1", "message 3"])
        #expect(try messages(LogQuery(grep: "^(nightly|message 0)")) == ["message 0", "nightly job failed: disk"])
        #expect(try messages(LogQuery(limit: 2)) == ["message 3", "nightly job failed: disk"])
        #expect(try messages(LogQuery(afterSequence: 2, limit: 2, order: .oldest)) == ["message 2", "message 3"])
    }

    @Test func aBadRegularExpressionSaysWhatIsWrong() throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let store = try LogStore(configuration: .init(directory: directory.url))
        #expect {
            try store.query(LogQuery(grep: "error(["))
        } throws: { error in
            let message = (error as? PyreError)?.message ?? ""
            return message.contains("error([") && message.contains("POSIX extended regular expression")
        }
    }

    @Test func segmentsRollOverAndQueriesSpanThem() throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let configuration = LogStoreConfiguration(directory: directory.url, segmentBytes: 1_000, maxAge: nil, maxBytes: nil)
        do {
            let store = try LogStore(configuration: configuration)
            for index in 0..<50 { try store.append([Self.record(index, service: index < 25 ? "web" : "api")]) }
            #expect(try segmentFiles(directory).count > 3)
            #expect(try store.query(LogQuery(limit: 1_000)).map(\.sequence) == Array(1...50))
        }
        // Sealed segments are read from their index; a lost index is rebuilt from the segment.
        let indexes = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasSuffix(".idx") }
        try FileManager.default.removeItem(at: directory.url.appendingPathComponent(indexes[0]))
        let reopened = try LogStore(configuration: configuration)
        #expect(try reopened.query(LogQuery(service: "api", limit: 1_000)).count == 25)
        #expect(try reopened.query(LogQuery(limit: 1_000)).map(\.sequence) == Array(1...50))
    }

    @Test func retentionRemovesWholeOldSegmentsByAgeAndSize() throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let old = LogRecord.microseconds(now.addingTimeInterval(-3 * 86_400))
        let store = try LogStore(configuration: .init(directory: directory.url, segmentBytes: 1_000,
                                                      maxAge: .seconds(86_400), maxBytes: 4_000))
        for index in 0..<10 { try store.append([Self.record(index, at: old + Int64(index))]) }
        for index in 10..<60 { try store.append([Self.record(index, at: LogRecord.microseconds(now))]) }
        try store.enforceRetention(now: now)
        let left = try store.query(LogQuery(limit: 1_000))
        #expect(left.allSatisfy { $0.receivedAt >= LogRecord.microseconds(now) })
        #expect(store.totalBytes <= 4_000 + 1_000)
        // What is left is the newest records, without gaps.
        #expect(left.map(\.sequence) == Array((61 - UInt64(left.count))...60))
    }

    @Test func theWriterCommitsConcurrentSubmissionsInBatches() async throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let store = try LogStore(configuration: .init(directory: directory.url))
        let writer = LogWriter(store: store, logger: .init(label: "test"))
        writer.start()
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<8 {
                group.addTask {
                    for index in 0..<200 { writer.submit([Self.record(sender * 1_000 + index)], from: .tcp) }
                }
            }
        }
        let last = try await writer.commit([Self.record(99_999)], from: .tcp)
        writer.stop()
        #expect(last == 1_601)
        #expect(writer.current.committed == 1_601)
        #expect(writer.current.batches < 1_601)
        let records = try store.query(LogQuery(limit: 2_000))
        #expect(records.map(\.sequence) == Array(1...1_601))
        #expect(Set(records.map(\.message)).count == 1_601)
    }

    private func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
    }

    private func segmentFiles(_ directory: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasSuffix(".seg") }
    }
}

/// The checksum is CRC-32C as RFC 3720 (iSCSI) defines it.
@Suite struct CRC32CTests {
    @Test func matchesTheStandardCheckValues() {
        let check = Array("123456789".utf8)
        #expect(check.withUnsafeBytes(CRC32C.checksum) == 0xE306_9283)
        // RFC 3720 B.4: 32 bytes of zeros, of ones, and ascending bytes.
        #expect([UInt8](repeating: 0, count: 32).withUnsafeBytes(CRC32C.checksum) == 0x8A91_36AA)
        #expect([UInt8](repeating: 0xFF, count: 32).withUnsafeBytes(CRC32C.checksum) == 0x62A8_AB43)
        #expect((0..<32).map(UInt8.init).withUnsafeBytes(CRC32C.checksum) == 0x46DD_794E)
    }
}
