import Foundation

/// Lowercase UUID text (`8-4-4-4-12` hex) without Foundation's formatter, which goes through
/// sscanf and printf: parsing ids was the largest single cost of a replay.
enum UUIDText {
    static func format(_ id: UUID) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        return withUnsafeBytes(of: id.uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var out = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[out] = UInt8(ascii: "-")
                        out += 1
                    }
                    text[out] = hex[Int(byte >> 4)]
                    text[out + 1] = hex[Int(byte & 0x0F)]
                    out += 2
                }
                return out
            }
        }
    }

    /// Nil unless `text` is 36 characters of hex digits (either case) and dashes at 8, 13, 18, 23.
    static func parse(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    /// As ``parse(_:)``, on UTF-8 bytes: replays parse SQLite's column text without making a String.
    static func parse(utf8: UnsafeBufferPointer<UInt8>) -> UUID? {
        let dash = UInt8(ascii: "-")
        guard utf8.count == 36, let text = utf8.baseAddress,
              text[8] == dash, text[13] == dash, text[18] == dash, text[23] == dash else { return nil }
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        // A non-digit's 0xFF sets high bits, checked once at the end.
        var invalid: UInt8 = 0
        withUnsafeMutableBytes(of: &bytes) { out in
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 { position += 1 }
                let high = nibble(text[position])
                let low = nibble(text[position + 1])
                invalid |= high | low
                out[index] = high << 4 | low
                position += 2
            }
        }
        return invalid & 0xF0 == 0 ? UUID(uuid: bytes) : nil
    }

    /// The digit's value, or 0xFF for a character that is not a hex digit.
    @inline(__always)
    private static func nibble(_ character: UInt8) -> UInt8 {
        let digit = character &- UInt8(ascii: "0")
        if digit < 10 { return digit }
        // ORing 0x20 lowercases a letter (and maps no non-letter into a...f).
        let letter = (character | 0x20) &- UInt8(ascii: "a")
        return letter < 6 ? letter + 10 : 0xFF
    }
}
