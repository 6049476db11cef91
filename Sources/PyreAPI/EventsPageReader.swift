import Foundation

/// An event as a replaying client reads it: the envelope decoded, `data` and `metadata` left
/// as the JSON bytes the server sent, for the service to decode into its own types (or not).
public struct ReplayedEvent: Sendable, Equatable {
    public var stream: String
    public var id: UUID
    public var type: String
    public var version: Int64
    public var position: Int64
    /// ISO 8601 in UTC with milliseconds, as the store recorded it.
    public var recordedAt: String
    /// A JSON document.
    public var data: Data
    /// A JSON document; nil when the client gave none.
    public var metadata: Data?
}

/// Reads a page of the events API (`{"events":[…], …}`) in one pass over its bytes, without
/// building a tree: JSONDecoder took about 15 µs per event, which capped a replay at a tenth
/// of what the agent serves. Keys may come in any order; unknown ones are skipped.
public enum EventsPageReader {
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// The page's events; their `data` and `metadata` are slices of `page`, which share its
    /// storage rather than each taking an allocation.
    public static func events(in page: Data) throws -> [ReplayedEvent] {
        try page.withUnsafeBytes { bytes in
            var scanner = Scanner(bytes: bytes, page: page)
            return try scanner.readPage()
        }
    }
    /// The keys the reader knows, matched on their bytes: a String made of every key took a
    /// tenth of a replay's time.
    private enum Key {
        case events, stream, id, type, version, position, recordedAt, data, metadata, other

        static let names: [(StaticString, Key)] = [
            ("events", .events), ("stream", .stream), ("id", .id), ("type", .type), ("version", .version),
            ("position", .position), ("recordedAt", .recordedAt), ("data", .data), ("metadata", .metadata),
        ]

        init(_ bytes: UnsafeRawBufferPointer) {
            self = Self.names.first { name, _ in
                name.utf8CodeUnitCount == bytes.count && memcmp(name.utf8Start, bytes.baseAddress!, bytes.count) == 0
            }?.1 ?? .other
        }
    }

    /// The string fields whose last value is kept: a replay mostly repeats the stream, the type
    /// and, for events appended together, the time, so equal bytes give back the same String
    /// rather than a new one.
    private enum RepeatedField { case stream, type, recordedAt }

    private struct Recent {
        var range = 0..<0
        var value = ""
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        /// The same bytes, to slice documents from.
        let page: Data
        var index = 0
        var recentStream = Recent()
        var recentType = Recent()
        var recentTime = Recent()

        init(bytes: UnsafeRawBufferPointer, page: Data) {
            self.bytes = bytes
            self.page = page
        }

        mutating func readPage() throws -> [ReplayedEvent] {
            var events: [ReplayedEvent] = []
            try object { scanner, key in
                guard key == .events else { return try scanner.skipValue() }
                try scanner.array { scanner in events.append(try scanner.event()) }
            }
            try end()
            return events
        }

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        private func fail(_ what: String) -> Malformed {
            Malformed(description: "the events page is not what the events API writes: \(what) at byte \(index)")
        }

        private mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        private mutating func expect(_ byte: UInt8) throws {
            skipSpace()
            guard current == byte else { throw fail("expected '\(Character(UnicodeScalar(byte)))'") }
            index += 1
        }

        /// Consumes `byte` if it comes next.
        private mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard current == byte else { return false }
            index += 1
            return true
        }

        mutating func end() throws {
            skipSpace()
            guard index == bytes.count else { throw fail("bytes after the page") }
        }

        /// Calls `member` with each key, the scanner placed at its value.
        mutating func object(_ member: (inout Scanner, Key) throws -> Void) throws {
            try expect(UInt8(ascii: "{"))
            if take(UInt8(ascii: "}")) { return }
            repeat {
                let key = try self.key()
                try expect(UInt8(ascii: ":"))
                try member(&self, key)
            } while take(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
        }

        mutating func array(_ element: (inout Scanner) throws -> Void) throws {
            try expect(UInt8(ascii: "["))
            if take(UInt8(ascii: "]")) { return }
            repeat { try element(&self) } while take(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
        }

        mutating func event() throws -> ReplayedEvent {
            var event = ReplayedEvent(stream: "", id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), type: "", version: -1, position: -1,
                                      recordedAt: "", data: Data(), metadata: nil)
            var seen = 0
            try object { scanner, key in
                switch key {
                case .stream: event.stream = try scanner.string(.stream)
                case .id: event.id = try scanner.uuid()
                case .type: event.type = try scanner.string(.type)
                case .version: event.version = try scanner.integer()
                case .position: event.position = try scanner.integer()
                case .recordedAt: event.recordedAt = try scanner.string(.recordedAt)
                case .data: event.data = try scanner.rawValue()
                case .metadata: event.metadata = try scanner.isNull() ? nil : try scanner.rawValue()
                case .events, .other:
                    try scanner.skipValue()
                    return
                }
                seen += 1
            }
            guard seen >= 8, event.version >= 0, event.position >= 0 else { throw fail("an event without all its fields") }
            return event
        }

        /// Consumes `null` if it comes next.
        mutating func isNull() throws -> Bool {
            skipSpace()
            guard index + 4 <= bytes.count, bytes[index] == UInt8(ascii: "n") else { return false }
            try skipValue()
            return true
        }

        /// A UUID string, in either case (sscanf, which `UUID(uuidString:)` uses, took a third of a replay).
        mutating func uuid() throws -> UUID {
            try expect(UInt8(ascii: "\""))
            guard index + 37 <= bytes.count, bytes[index + 36] == UInt8(ascii: "\"") else { throw fail("an id that is not a UUID") }
            var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var invalid: UInt8 = 0
            let text = bytes.baseAddress! + index
            withUnsafeMutableBytes(of: &value) { target in
                var at = 0
                for offset in 0..<16 {
                    if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                        invalid |= text.load(fromByteOffset: at, as: UInt8.self) == UInt8(ascii: "-") ? 0 : 0x10
                        at += 1
                    }
                    let high = Self.nibble(text.load(fromByteOffset: at, as: UInt8.self))
                    let low = Self.nibble(text.load(fromByteOffset: at + 1, as: UInt8.self))
                    invalid |= high | low
                    target[offset] = high << 4 | low
                    at += 2
                }
            }
            guard invalid & 0xF0 == 0 else { throw fail("an id that is not a UUID") }
            index += 37
            return UUID(uuid: value)
        }

        /// A hex digit's value, with a high bit set for any other byte. No branches: the digits
        /// of random ids mispredicted half of them.
        private static func nibble(_ byte: UInt8) -> UInt8 {
            let isDigit = byte &- UInt8(ascii: "0") < 10
            let isLetter = (byte | 0x20) &- UInt8(ascii: "a") < 6
            let value = (byte & 0x0F) &+ 9 &* (byte >> 6)
            return value | ((isDigit || isLetter) ? 0 : 0xF0)
        }

        mutating func integer() throws -> Int64 {
            skipSpace()
            let negative = take(UInt8(ascii: "-"))
            var value: Int64 = 0
            let start = index
            while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflowAgain) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                guard !overflow, !overflowAgain else { throw fail("a number too large") }
                value = sum
                index += 1
            }
            guard index > start else { throw fail("expected a whole number") }
            return negative ? -value : value
        }

        /// A string, that field's last value again when the bytes are the same; escapes are
        /// undone (rare in names, so the plain case is a copy).
        mutating func string(_ field: RepeatedField) throws -> String {
            let (content, escaped) = try stringContent()
            if escaped { return try unescaped(content) }
            let start = content.baseAddress! - bytes.baseAddress!
            var recent = switch field {
            case .stream: recentStream
            case .type: recentType
            case .recordedAt: recentTime
            }
            if recent.range.count == content.count,
               memcmp(bytes.baseAddress! + recent.range.lowerBound, content.baseAddress!, content.count) == 0 {
                return recent.value
            }
            recent = Recent(range: start..<(start + content.count), value: String(decoding: content, as: UTF8.self))
            switch field {
            case .stream: recentStream = recent
            case .type: recentType = recent
            case .recordedAt: recentTime = recent
            }
            return recent.value
        }

        /// A key, matched without making a String of it; an escaped key is one the reader does not know.
        private mutating func key() throws -> Key {
            let (content, escaped) = try stringContent()
            return escaped ? .other : Key(content)
        }

        /// The bytes between a string's quotes, and whether they hold an escape; memchr finds
        /// the closing quote, and only a string holding a backslash is walked byte by byte.
        private mutating func stringContent() throws -> (UnsafeRawBufferPointer, escaped: Bool) {
            try expect(UInt8(ascii: "\""))
            let start = index
            let base = bytes.baseAddress!
            guard let quote = memchr(base + start, Int32(UInt8(ascii: "\"")), bytes.count - start) else {
                throw fail("a string that does not end")
            }
            index = UnsafeRawPointer(quote) - base
            guard memchr(base + start, Int32(UInt8(ascii: "\\")), index - start) != nil else {
                index += 1
                return (UnsafeRawBufferPointer(rebasing: bytes[start..<(index - 1)]), false)
            }
            index = start
            while let byte = current, byte != UInt8(ascii: "\"") { index += byte == UInt8(ascii: "\\") ? 2 : 1 }
            guard current != nil else { throw fail("a string that does not end") }
            index += 1
            return (UnsafeRawBufferPointer(rebasing: bytes[start..<(index - 1)]), true)
        }

        private func unescaped(_ content: UnsafeRawBufferPointer) throws -> String {
            var quoted = Data([UInt8(ascii: "\"")])
            quoted.append(contentsOf: content)
            quoted.append(UInt8(ascii: "\""))
            guard let text = try? JSONDecoder().decode(String.self, from: quoted) else { throw fail("a bad escape in a string") }
            return text
        }

        /// The bytes of the value that starts here, checked only as far as finding its end.
        mutating func rawValue() throws -> Data {
            skipSpace()
            let start = index
            try skipValue()
            return page[(page.startIndex + start)..<(page.startIndex + index)]
        }

        mutating func skipValue() throws {
            skipSpace()
            guard let byte = current else { throw fail("a missing value") }
            switch byte {
            case UInt8(ascii: "\""): _ = try stringContent()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                repeat {
                    guard let next = current else { throw fail("a value that does not end") }
                    switch next {
                    case UInt8(ascii: "\""): _ = try stringContent()
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                        index += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        index += 1
                    default: index += 1
                    }
                } while depth > 0
            default:
                // A number or a literal: everything up to the next delimiter.
                while let next = current, next != UInt8(ascii: ","), next != UInt8(ascii: "}"), next != UInt8(ascii: "]"),
                      next != 0x20, next != 0x0A, next != 0x0D, next != 0x09 {
                    index += 1
                }
            }
        }
    }
}
