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
        // Any character that is not a hex digit sets this; checked once at the end.
        var invalid: UInt8 = 0
        withUnsafeMutableBytes(of: &bytes) { out in
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 { position += 1 }
                let high = nibble(text[position], invalid: &invalid)
                let low = nibble(text[position + 1], invalid: &invalid)
                out[index] = high << 4 | low
                position += 2
            }
        }
        return invalid == 0 ? UUID(uuid: bytes) : nil
    }

    /// The digit's value (meaningless for a non-digit, which sets `invalid`). Without branches:
    /// random ids mix digits and letters, and a branch on which one it is mispredicts half the time.
    @inline(__always)
    private static func nibble(_ character: UInt8, invalid: inout UInt8) -> UInt8 {
        // ORing 0x20 lowercases a letter (and maps no non-letter into a...f).
        let isDigit: UInt8 = character &- UInt8(ascii: "0") < 10 ? 1 : 0
        let isLetter: UInt8 = (character | 0x20) &- UInt8(ascii: "a") < 6 ? 1 : 0
        invalid |= (isDigit | isLetter) ^ 1
        // Digits are 0x30-0x39, letters 0x41-0x46 and 0x61-0x66: bit 6 marks a letter, worth 9 more.
        return (character & 0x0F) &+ (character >> 6) &* 9
    }
}
