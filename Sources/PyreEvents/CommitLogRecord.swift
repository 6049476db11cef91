import Foundation
import PyreCore

/// An append that passed its checks and has its place: what the commit log holds and what
/// the applier inserts into SQLite.
struct LoggedAppend: Sendable, Equatable {
    var stream: String
    var firstVersion: Int64
    var firstPosition: Int64
    /// Microseconds since 1970, as the `events` table stores it.
    var recordedAt: Int64
    var events: [NewEvent]

    var lastPosition: Int64 { firstPosition + Int64(events.count) - 1 }

    var result: AppendResult {
        let count = Int64(events.count)
        return AppendResult(firstVersion: firstVersion, lastVersion: firstVersion + count - 1,
                            firstPosition: firstPosition, lastPosition: lastPosition)
    }
}

/// The on-disk form of one group commit: `LENGTH CRC PAYLOAD`, both little-endian UInt32, the
/// CRC-32C of the payload; a zero length marks the end of a segment's records.
///
///     payload: appendCount u32, then per append:
///       stream (u32 length + UTF-8), firstVersion i64, firstPosition i64, recordedAt i64,
///       eventCount u32, then per event: id (16 bytes), type (u32 length + UTF-8),
///       data (u32 length + bytes), metadata flag u8 (1: u32 length + bytes follow)
enum CommitLogRecord {
    static let frameHeader = 8

    /// One frame holding `appends`.
    static func encode(_ appends: [LoggedAppend]) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(frameHeader + appends.reduce(0) { $0 + estimatedSize($1) })
        buffer.append(contentsOf: [UInt8](repeating: 0, count: frameHeader))
        append(UInt32(appends.count), to: &buffer)
        for logged in appends {
            appendBytes(Array(logged.stream.utf8), to: &buffer)
            append(logged.firstVersion, to: &buffer)
            append(logged.firstPosition, to: &buffer)
            append(logged.recordedAt, to: &buffer)
            append(UInt32(logged.events.count), to: &buffer)
            for event in logged.events {
                withUnsafeBytes(of: event.id.uuid) { buffer.append(contentsOf: $0) }
                appendBytes(Array(event.type.utf8), to: &buffer)
                appendBytes(event.data, to: &buffer)
                if let metadata = event.metadata {
                    buffer.append(1)
                    appendBytes(metadata, to: &buffer)
                } else {
                    buffer.append(0)
                }
            }
        }
        let payloadCount = buffer.count - frameHeader
        let crc = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[frameHeader...])) }
        buffer.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt32(payloadCount).littleEndian, toByteOffset: 0, as: UInt32.self)
            bytes.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
        }
        return buffer
    }

    /// What a frame found at some offset of a segment holds.
    enum Frame: Equatable {
        case appends([LoggedAppend], size: Int)
        /// Zeros: the segment's records end here.
        case end
        /// Not a whole, intact frame: a write that a crash cut short, or damage.
        case torn
    }

    static func frame(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Frame {
        guard bytes.count - offset >= frameHeader else { return bytes.count == offset ? .end : .torn }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        if length == 0 && crc == 0 { return .end }
        guard length <= bytes.count - offset - frameHeader else { return .torn }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + frameHeader)..<(offset + frameHeader + length)])
        guard CRC32C.checksum(payload) == crc, let appends = try? decode(payload) else { return .torn }
        return .appends(appends, size: frameHeader + length)
    }

    private struct Malformed: Error {}

    private static func decode(_ payload: UnsafeRawBufferPointer) throws -> [LoggedAppend] {
        var reader = Reader(bytes: payload)
        var appends: [LoggedAppend] = []
        for _ in 0..<(try reader.integer(UInt32.self)) {
            let stream = try reader.text()
            let firstVersion = try reader.integer(Int64.self)
            let firstPosition = try reader.integer(Int64.self)
            let recordedAt = try reader.integer(Int64.self)
            var events: [NewEvent] = []
            for _ in 0..<(try reader.integer(UInt32.self)) {
                let id = try reader.id()
                let type = try reader.text()
                let data = try reader.data()
                let metadata = try reader.integer(UInt8.self) == 1 ? try reader.data() : nil
                events.append(NewEvent(id: id, type: type, data: data, metadata: metadata))
            }
            appends.append(LoggedAppend(stream: stream, firstVersion: firstVersion, firstPosition: firstPosition,
                                        recordedAt: recordedAt, events: events))
        }
        guard reader.offset == payload.count else { throw Malformed() }
        return appends
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func take(_ count: Int) throws -> UnsafeRawBufferPointer {
            guard count >= 0, bytes.count - offset >= count else { throw Malformed() }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        }

        mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
            T(littleEndian: try take(MemoryLayout<T>.size).loadUnaligned(as: T.self))
        }

        mutating func data() throws -> Data { Data(try take(Int(try integer(UInt32.self)))) }

        mutating func text() throws -> String {
            guard let text = String(validating: try take(Int(try integer(UInt32.self))), as: UTF8.self) else {
                throw Malformed()
            }
            return text
        }

        mutating func id() throws -> UUID {
            UUID(uuid: try take(16).loadUnaligned(as: uuid_t.self))
        }
    }

    private static func estimatedSize(_ logged: LoggedAppend) -> Int {
        40 + logged.stream.utf8.count + logged.events.reduce(0) {
            $0 + 32 + $1.type.utf8.count + $1.data.count + ($1.metadata?.count ?? 0)
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    private static func appendBytes(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        append(UInt32(bytes.count), to: &buffer)
        buffer.append(contentsOf: bytes)
    }
}
