/// A read position over a message's bytes. Every read checks the bounds, so malformed input
/// ends a parse with an error instead of a trap.
struct ByteScanner {
    let bytes: UnsafeRawBufferPointer
    var index: Int

    init(_ bytes: UnsafeRawBufferPointer, at index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    var isAtEnd: Bool { index >= bytes.count }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    func peek(_ offset: Int) -> UInt8? {
        let position = index + offset
        return position >= 0 && position < bytes.count ? bytes[position] : nil
    }

    /// Consumes `byte` if it is next.
    mutating func skip(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        index += 1
        return true
    }

    /// Reads exactly `count` ASCII digits as a number.
    mutating func digits(_ count: Int) -> Int? {
        guard count <= bytes.count - index else { return nil }
        var value = 0
        for offset in 0..<count {
            let digit = bytes[index + offset] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        index += count
        return value
    }

    /// The run of bytes from here up to (not including) the next space or the end.
    mutating func word() -> Range<Int> {
        let start = index
        while index < bytes.count, bytes[index] != .space { index += 1 }
        return start..<index
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

extension UInt8 {
    static let space = UInt8(ascii: " ")

    /// RFC 5424 PRINTUSASCII: visible ASCII, no space.
    var isPrintableASCII: Bool { self &- 33 < 94 }

    var isDigit: Bool { self &- UInt8(ascii: "0") < 10 }
}
