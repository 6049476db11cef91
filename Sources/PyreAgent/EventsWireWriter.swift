import Foundation
import NIOCore
import PyreEvents

/// Writes the events API's answers straight into a buffer, in the bytes
/// `EventsJSONEncoding` has always produced for them: keys sorted, slashes escaped, dates
/// ISO 8601 with milliseconds. An event's `data` and `metadata` are copied as stored (the
/// store accepts only valid JSON) rather than decoded and encoded again: replay over HTTP
/// spent nearly all its time on that round trip.
enum EventsWireWriter {
    /// The last time written and its text: events appended together share their time, so a
    /// page mostly repeats it, and copying 24 bytes is cheaper than working out the date again.
    struct RecentTimestamp {
        fileprivate var date = Date.distantPast
        fileprivate var text: (UInt64, UInt64, UInt64) = (0, 0, 0)

        init() {}
    }

    /// `{"data":…,"id":…,"metadata":…,"position":…,"recordedAt":…,"stream":…,"type":…,"version":…}`
    static func write(_ event: RecordedEvent, into buffer: inout ByteBuffer) {
        var recent = RecentTimestamp()
        StoredEventFields.of(event) { write($0, into: &buffer, recent: &recent) }
    }

    /// One of a series of events, `recent` carried from one to the next.
    static func write(_ event: StoredEventFields, into buffer: inout ByteBuffer, recent: inout RecentTimestamp) {
        // Room for the keys and numbers, the documents, and the names escaped at worst.
        let room = 256 + event.data.count + (event.metadata?.count ?? 0) + 6 * (event.stream.count + event.type.count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { target in
            var out = Output(base: target.baseAddress!)
            out.literal(#"{"data":"#)
            out.document(event.data)
            out.literal(#","id":""#)
            out.bytes(event.id)
            out.literal(#"","metadata":"#)
            if let metadata = event.metadata { out.document(metadata) } else { out.literal("null") }
            out.literal(#","position":"#)
            out.integer(event.position)
            out.literal(#","recordedAt":""#)
            out.timestamp(event.recordedAt, recent: &recent)
            out.literal(#"","stream":"#)
            out.string(event.stream)
            out.literal(#","type":"#)
            out.string(event.type)
            out.literal(#","version":"#)
            out.integer(event.version)
            out.literal("}")
            return out.count
        }
    }

    /// `{"data":…,"stream":…,"version":…}`
    static func write(_ snapshot: Snapshot, into buffer: inout ByteBuffer) {
        var stream = snapshot.stream
        _ = stream.withUTF8 { stream in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 + snapshot.data.count + 6 * stream.count) { target in
                var out = Output(base: target.baseAddress!)
                out.literal(#"{"data":"#)
                snapshot.data.withUnsafeBytes { out.document($0) }
                out.literal(#","stream":"#)
                out.string(UnsafeRawBufferPointer(stream))
                out.literal(#","version":"#)
                out.integer(snapshot.version)
                out.literal("}")
                return out.count
            }
        }
    }

    static func writeInteger(_ value: Int64, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { target in
            var out = Output(base: target.baseAddress!)
            out.integer(value)
            return out.count
        }
    }

    static func writeTimestamp(_ date: Date, into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { target in
            var out = Output(base: target.baseAddress!)
            out.timestamp(date)
            return out.count
        }
    }

    /// Writes into memory the caller has made room for: one capacity check per event rather
    /// than one per byte.
    private struct Output {
        let base: UnsafeMutableRawPointer
        var count = 0

        mutating func byte(_ value: UInt8) {
            base.storeBytes(of: value, toByteOffset: count, as: UInt8.self)
            count += 1
        }

        mutating func bytes(_ source: UnsafeRawBufferPointer) {
            guard let start = source.baseAddress, !source.isEmpty else { return }
            (base + count).copyMemory(from: start, byteCount: source.count)
            count += source.count
        }

        mutating func literal(_ text: StaticString) {
            bytes(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        /// A stored JSON document on one line: line breaks can only be whitespace between tokens
        /// in valid JSON, and a Server-Sent Events `data:` line must not hold one.
        mutating func document(_ document: UnsafeRawBufferPointer) {
            let start = count
            bytes(document)
            let written = UnsafeMutableRawBufferPointer(start: base + start, count: count - start)
            for lineBreak: UInt8 in [0x0A, 0x0D] {
                var from = 0
                while from < written.count, let found = memchr(written.baseAddress! + from, Int32(lineBreak), written.count - from) {
                    found.storeBytes(of: UInt8(ascii: " "), as: UInt8.self)
                    from = written.baseAddress!.distance(to: found) + 1
                }
            }
        }

        /// A JSON string, escaped as JSONSerialization escapes it.
        mutating func string(_ text: UnsafeRawBufferPointer) {
            byte(UInt8(ascii: "\""))
            if !text.contains(where: needsEscape) {
                bytes(text)
            } else {
                for value in text {
                    switch value {
                    case UInt8(ascii: "\""): literal(#"\""#)
                    case UInt8(ascii: "\\"): literal(#"\\"#)
                    case UInt8(ascii: "/"): literal(#"\/"#)
                    case 0x08: literal(#"\b"#)
                    case 0x0C: literal(#"\f"#)
                    case 0x0A: literal(#"\n"#)
                    case 0x0D: literal(#"\r"#)
                    case 0x09: literal(#"\t"#)
                    case ..<0x20:
                        literal(#"\u00"#)
                        hex(value)
                    default: byte(value)
                    }
                }
            }
            byte(UInt8(ascii: "\""))
        }

        private func needsEscape(_ value: UInt8) -> Bool {
            value < 0x20 || value == UInt8(ascii: "\"") || value == UInt8(ascii: "\\") || value == UInt8(ascii: "/")
        }

        /// Two lowercase hex digits.
        mutating func hex(_ value: UInt8) {
            let digits: StaticString = "0123456789abcdef"
            byte(digits.utf8Start[Int(value >> 4)])
            byte(digits.utf8Start[Int(value & 0x0F)])
        }

        mutating func integer(_ value: Int64) {
            if value < 0 { byte(UInt8(ascii: "-")) }
            var magnitude = value.magnitude
            var digits = 1
            var scale: UInt64 = 10
            while digits < 20, magnitude >= scale {
                digits += 1
                scale = scale.multipliedReportingOverflow(by: 10).partialValue
            }
            for place in stride(from: digits - 1, through: 0, by: -1) {
                base.storeBytes(of: UInt8(ascii: "0") + UInt8(magnitude % 10), toByteOffset: count + place, as: UInt8.self)
                magnitude /= 10
            }
            count += digits
        }

        /// `timestamp(date)`, copied from `recent` when it is the same date.
        mutating func timestamp(_ date: Date, recent: inout RecentTimestamp) {
            if date != recent.date {
                let start = count
                timestamp(date)
                recent.date = date
                withUnsafeMutableBytes(of: &recent.text) { $0.copyMemory(from: UnsafeRawBufferPointer(start: base + start, count: 24)) }
            } else {
                withUnsafeBytes(of: recent.text) { bytes($0) }
            }
        }

        /// `2026-01-02T03:04:05.678Z`: UTC, milliseconds cut (not rounded), as
        /// `Date.ISO8601FormatStyle(includingFractionalSeconds: true)` writes it. The civil
        /// date is computed here (Hinnant's algorithm): gmtime took a lock per event.
        mutating func timestamp(_ date: Date) {
            // Split as Foundation's calendar splits it, from the 2001 reference date, so the
            // cut falls on the same millisecond.
            let reference = date.timeIntervalSinceReferenceDate
            let whole = reference.rounded(.down)
            let nanosecond = Int64((reference - whole) * 1_000_000_000)
            let seconds = Int64(whole) + 978_307_200
            let millisecond = nanosecond / 1_000_000
            let (days, secondOfDay) = floorDivision(seconds, 86_400)
            let (year, month, day) = civil(days: days)
            digits(year, 4)
            byte(UInt8(ascii: "-"))
            digits(month, 2)
            byte(UInt8(ascii: "-"))
            digits(day, 2)
            byte(UInt8(ascii: "T"))
            digits(secondOfDay / 3600, 2)
            byte(UInt8(ascii: ":"))
            digits(secondOfDay / 60 % 60, 2)
            byte(UInt8(ascii: ":"))
            digits(secondOfDay % 60, 2)
            byte(UInt8(ascii: "."))
            digits(millisecond, 3)
            byte(UInt8(ascii: "Z"))
        }

        private mutating func digits(_ value: Int64, _ width: Int) {
            var rest = value
            for place in stride(from: width - 1, through: 0, by: -1) {
                base.storeBytes(of: UInt8(ascii: "0") + UInt8(rest % 10), toByteOffset: count + place, as: UInt8.self)
                rest /= 10
            }
            count += width
        }

        private func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
            let remainder = value % divisor
            return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
        }

        /// Year, month and day of a count of days since 1970-01-01 (proleptic Gregorian).
        private func civil(days: Int64) -> (Int64, Int64, Int64) {
            let shifted = days + 719_468
            let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
            let dayOfEra = shifted - era * 146_097
            let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
            let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
            let monthIndex = (5 * dayOfYear + 2) / 153
            let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
            let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
            return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
        }
    }
}
