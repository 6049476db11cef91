import Foundation

/// Lowercase UUID text (`8-4-4-4-12` hex) without Foundation's formatter, which goes through
/// sscanf and printf: parsing ids was the largest single cost of a replay.
enum UUIDText {
    static func format(_ id: UUID) -> String {
        String(unsafeUninitializedCapacity: 36) { text in
            write(id, into: UnsafeMutableRawPointer(text.baseAddress!))
            return 36
        }
    }

    /// An id's text in 36 bytes of its own, without an allocation.
    typealias Bytes = (UInt64, UInt64, UInt64, UInt64, UInt32)

    static func bytes(_ id: UUID) -> Bytes {
        var text: Bytes = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &text) { write(id, into: $0.baseAddress!) }
        return text
    }

    /// Writes the 36 characters of `id` at `text`.
    private static func write(_ id: UUID, into text: UnsafeMutableRawPointer) {
        let digits: StaticString = "0123456789abcdef"
        withUnsafeBytes(of: id.uuid) { bytes in
            var out = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    text.storeBytes(of: UInt8(ascii: "-"), toByteOffset: out, as: UInt8.self)
                    out += 1
                }
                text.storeBytes(of: digits.utf8Start[Int(byte >> 4)], toByteOffset: out, as: UInt8.self)
                text.storeBytes(of: digits.utf8Start[Int(byte & 0x0F)], toByteOffset: out + 1, as: UInt8.self)
                out += 2
            }
        }
    }

    /// Whether `utf8` is an id exactly as ``format(_:)`` writes it (lowercase): such text can be
    /// copied out as it is.
    static func isFormatted(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let groups = groups(utf8) else { return false }
        return areHexDigits(groups.0, lowercase: true) && areHexDigits(groups.1, lowercase: true)
            && areHexDigits(groups.2, lowercase: true) && areHexDigits(groups.3, lowercase: true)
    }

    /// Nil unless `text` is 36 characters of hex digits (either case) and dashes at 8, 13, 18, 23.
    static func parse(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    /// As ``parse(_:)``, on UTF-8 bytes: replays parse SQLite's column text without making a String.
    /// Eight characters at a time, as bytes of one `UInt64`, without a branch per character:
    /// parsing was a replay's largest cost of its own.
    static func parse(utf8: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard let groups = groups(utf8), areHexDigits(groups.0, lowercase: false), areHexDigits(groups.1, lowercase: false),
              areHexDigits(groups.2, lowercase: false), areHexDigits(groups.3, lowercase: false) else {
            return nil
        }
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { out in
            out.storeBytes(of: packed(groups.0).littleEndian, toByteOffset: 0, as: UInt32.self)
            out.storeBytes(of: packed(groups.1).littleEndian, toByteOffset: 4, as: UInt32.self)
            out.storeBytes(of: packed(groups.2).littleEndian, toByteOffset: 8, as: UInt32.self)
            out.storeBytes(of: packed(groups.3).littleEndian, toByteOffset: 12, as: UInt32.self)
        }
        return UUID(uuid: bytes)
    }

    /// The 32 hex digits as four groups of 8 bytes, nil unless `utf8` is 36 bytes with dashes at
    /// 8, 13, 18 and 23.
    private static func groups(_ utf8: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, UInt64, UInt64)? {
        let dash = UInt8(ascii: "-")
        guard utf8.count == 36, let text = utf8.baseAddress,
              text[8] == dash, text[13] == dash, text[18] == dash, text[23] == dash else { return nil }
        let raw = UnsafeRawPointer(text)
        func eight(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        func four(_ offset: Int) -> UInt64 {
            UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        return (eight(0), four(9) | four(14) << 32, four(19) | four(24) << 32, eight(28))
    }

    private static let everyByte: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080
    private static let lowHalves: UInt64 = 0x0F0F_0F0F_0F0F_0F0F
    private static let lowercaseBits: UInt64 = 0x2020_2020_2020_2020

    /// Whether each of the 8 bytes is 0-9 or a-f (or A-F, unless `lowercase`).
    private static func areHexDigits(_ characters: UInt64, lowercase: Bool) -> Bool {
        // For bytes below 0x80, adding 0x80 - low sets a byte's high bit exactly when it is at
        // least `low`, and adding 0x7F - high exactly when it is above `high`; no carry crosses bytes.
        func inRange(_ bytes: UInt64, _ low: UInt64, _ high: UInt64) -> UInt64 {
            (bytes &+ (0x80 - low) &* everyByte) & ~(bytes &+ (0x7F - high) &* everyByte) & highBits
        }
        let digits = inRange(characters, 0x30, 0x39)
        // ORing 0x20 lowercases a letter (and maps no non-letter into a...f).
        let letters = inRange(lowercase ? characters : characters | lowercaseBits, 0x61, 0x66)
        return characters & highBits == 0 && digits | letters == highBits
    }

    /// The 8 hex digits' value as 4 bytes, the first digit the high half of the lowest byte.
    private static func packed(_ characters: UInt64) -> UInt32 {
        // Digits are 0x30-0x39, letters 0x41-0x46 and 0x61-0x66: bit 6 marks a letter, worth 9 more.
        let nibbles = (characters & lowHalves) &+ ((characters >> 6) & everyByte) &* 9
        let everyOtherByte: UInt64 = 0x00FF_00FF_00FF_00FF
        var pairs = (nibbles & everyOtherByte) << 4 | (nibbles >> 8) & everyOtherByte
        pairs = (pairs | pairs >> 8) & 0x0000_FFFF_0000_FFFF
        return UInt32(truncatingIfNeeded: pairs | pairs >> 16)
    }
}
