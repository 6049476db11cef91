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
    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        /// The same bytes, to slice documents from.
        let page: Data
        var index = 0

        init(bytes: UnsafeRawBufferPointer, page: Data) {
            self.bytes = bytes
            self.page = page
        }

        mutating func readPage() throws -> [ReplayedEvent] {
            var events: [ReplayedEvent] = []
            try object { scanner, key in
                guard key == "events" else { return try scanner.skipValue() }
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
        mutating func object(_ member: (inout Scanner, String) throws -> Void) throws {
            try expect(UInt8(ascii: "{"))
            if take(UInt8(ascii: "}")) { return }
            repeat {
                let key = try string()
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
                case "stream": event.stream = try scanner.string()
                case "id": event.id = try scanner.uuid()
                case "type": event.type = try scanner.string()
                case "version": event.version = try scanner.integer()
                case "position": event.position = try scanner.integer()
                case "recordedAt": event.recordedAt = try scanner.string()
                case "data": event.data = try scanner.rawValue()
                case "metadata": event.metadata = try scanner.isNull() ? nil : try scanner.rawValue()
                default:
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
            var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            try withUnsafeMutableBytes(of: &value) { target in
                for offset in 0..<16 {
                    if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                        guard current == UInt8(ascii: "-") else { throw fail("an id that is not a UUID") }
                        index += 1
                    }
                    guard index + 2 <= bytes.count, let high = Self.nibble(bytes[index]), let low = Self.nibble(bytes[index + 1]) else {
                        throw fail("an id that is not a UUID")
                    }
                    target[offset] = high << 4 | low
                    index += 2
                }
            }
            try expect(UInt8(ascii: "\""))
            return UUID(uuid: value)
        }

        private static func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
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

        /// A string; escapes are undone (rare in names, so the plain case is a copy).
        mutating func string() throws -> String {
            try expect(UInt8(ascii: "\""))
            let start = index
            var escaped = false
            while let byte = current, byte != UInt8(ascii: "\"") {
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    index += 1
                }
                index += 1
            }
            guard current != nil else { throw fail("a string that does not end") }
            let content = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            index += 1
            guard escaped else { return String(decoding: content, as: UTF8.self) }
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
            case UInt8(ascii: "\""): try skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                repeat {
                    guard let next = current else { throw fail("a value that does not end") }
                    switch next {
                    case UInt8(ascii: "\""): try skipString()
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

        private mutating func skipString() throws {
            index += 1
            while let byte = current, byte != UInt8(ascii: "\"") { index += byte == UInt8(ascii: "\\") ? 2 : 1 }
            guard current != nil else { throw fail("a string that does not end") }
            index += 1
        }
    }
}
