/// Reads one RELP frame from the start of a byte stream. The header has bounded fields (at
/// most 9 digits of transaction number, 32 letters of command, 9 digits of length), so
/// garbage is rejected within a few dozen bytes and no declared length over `maxDataLength`
/// is ever buffered.
enum RELPFrameParser {
    /// librelp's own default limit; a syslog message longer than the store's limit is cut later.
    static let defaultMaxDataLength = 128 << 10

    /// The frame at the start of `bytes` and how many bytes it took; nil when it is not complete yet.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxDataLength: Int = defaultMaxDataLength)
        throws(RELPFrameError) -> (frame: RELPFrame, length: Int)? {
        var index = 0
        guard let transaction = try number(in: bytes, at: &index, maxDigits: 9, failure: RELPFrameError(
            transaction: nil, reason: "the transaction number is not 1 to 9 digits followed by a space")) else { return nil }
        let commandStart = index
        while index < bytes.count, isLetter(bytes[index]) {
            index += 1
            guard index - commandStart <= 32 else { throw RELPFrameError(transaction: transaction, reason: "the command is longer than 32 letters") }
        }
        guard index < bytes.count else { return nil }
        guard index > commandStart, bytes[index] == space else {
            throw RELPFrameError(transaction: transaction, reason: "the command is not letters followed by a space")
        }
        let command = String(decoding: bytes[commandStart..<index], as: UTF8.self)
        index += 1
        let lengthFailure = RELPFrameError(transaction: transaction, reason: "the data length is not 1 to 9 digits")
        guard let length = try number(in: bytes, at: &index, maxDigits: 9, terminators: [space, lineFeed], failure: lengthFailure) else {
            return nil
        }
        guard length <= maxDataLength else {
            throw RELPFrameError(transaction: transaction, reason: "the data length \(length) is over the limit of \(maxDataLength) bytes")
        }
        // `number` stopped after the terminator: a space before data, a line feed after none.
        let terminator = bytes[index - 1]
        guard (length == 0) == (terminator == lineFeed) else {
            throw RELPFrameError(transaction: transaction, reason: length == 0 ? "no line feed after a data length of 0"
                                                                                  : "no data after the data length")
        }
        guard length > 0 else { return (RELPFrame(transaction: transaction, command: command), index) }
        guard bytes.count - index > length else { return nil }
        guard bytes[index + length] == lineFeed else {
            throw RELPFrameError(transaction: transaction, reason: "the frame does not end with a line feed after \(length) bytes of data")
        }
        return (RELPFrame(transaction: transaction, command: command, data: Array(bytes[index..<(index + length)])), index + length + 1)
    }

    private static let space = UInt8(ascii: " ")
    private static let lineFeed = UInt8(ascii: "\n")

    /// Digits then one of `terminators`, leaving `index` after the terminator; nil when the
    /// bytes end first.
    private static func number(in bytes: UnsafeRawBufferPointer, at index: inout Int, maxDigits: Int,
                               terminators: [UInt8] = [space], failure: RELPFrameError) throws(RELPFrameError) -> Int? {
        let start = index
        var value = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
            guard index - start <= maxDigits else { throw failure }
        }
        guard index < bytes.count else { return nil }
        guard index > start, terminators.contains(bytes[index]) else { throw failure }
        index += 1
        return value
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
