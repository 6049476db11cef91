/// One message cut out of a TCP stream.
public struct SyslogFrame: Sendable, Hashable {
    public var bytes: [UInt8]
    /// The sender's frame was longer than the limit; `bytes` holds its first `limit` bytes.
    public var truncated: Bool

    public init(bytes: [UInt8], truncated: Bool = false) {
        self.bytes = bytes
        self.truncated = truncated
    }
}

/// Splits one TCP connection's bytes into syslog messages (RFC 6587), fed in whatever pieces
/// the socket delivers. The first byte decides the framing for the whole connection: a digit
/// 1–9 starts octet counting (`LEN SP MSG`), anything else is non-transparent framing, where
/// LF ends a message (CRLF and NUL are accepted too). Memory stays bounded by `limit`: a
/// longer frame is cut there and marked truncated, and its rest is skipped.
public struct SyslogFramer: Sendable {
    public enum Framing: Sendable, Hashable {
        case octetCounting
        case nonTransparent
    }

    /// Nil until the connection's first non-blank byte.
    public private(set) var framing: Framing?
    public let limit: Int

    private enum State: Sendable {
        case awaitingFirstByte
        /// Octet counting: reading MSG-LEN; its digits are kept in `buffer` in case they are
        /// not a length after all.
        case length(Int)
        case octets(remaining: Int)
        case skippingOctets(remaining: Int)
        case line
        case skippingLine
    }

    private var state = State.awaitingFirstByte
    private var buffer: [UInt8] = []

    /// A length longer than this many digits (a gigabyte or more) is garbage, not a frame.
    private static let maxLengthDigits = 9

    /// - Parameter limit: the longest frame kept (at least 1); defaults to the parser's.
    public init(limit: Int = SyslogParser.defaultLimit) {
        self.limit = max(limit, 1)
    }

    /// Consumes `bytes` and calls `deliver` for every message they complete.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, deliver: (SyslogFrame) -> Void) {
        var index = 0
        while index < bytes.count {
            switch state {
            case .awaitingFirstByte:
                let byte = bytes[index]
                if byte.isBlank {
                    index += 1
                } else if byte &- UInt8(ascii: "1") < 9 {
                    framing = .octetCounting
                    state = .length(0)
                } else {
                    framing = .nonTransparent
                    state = .line
                }
            case .length(let length):
                index = readLength(length, bytes, at: index)
            case .octets(let remaining):
                let count = min(remaining, bytes.count - index, limit - buffer.count)
                append(UnsafeRawBufferPointer(rebasing: bytes[index..<index + count]))
                index += count
                if count == remaining {
                    deliver(takeFrame(truncated: false))
                    state = .length(0)
                } else if buffer.count == limit {
                    deliver(takeFrame(truncated: true))
                    state = .skippingOctets(remaining: remaining - count)
                } else {
                    state = .octets(remaining: remaining - count)
                }
            case .skippingOctets(let remaining):
                let count = min(remaining, bytes.count - index)
                index += count
                state = count == remaining ? .length(0) : .skippingOctets(remaining: remaining - count)
            case .line:
                index = readLine(bytes, at: index, deliver: deliver)
            case .skippingLine:
                if bytes[index].endsLine { state = .line }
                index += 1
            }
        }
    }

    /// Feeds an array; returns the messages it completes.
    public mutating func feed(_ bytes: [UInt8]) -> [SyslogFrame] {
        var frames: [SyslogFrame] = []
        bytes.withUnsafeBytes { feed($0) { frames.append($0) } }
        return frames
    }

    /// At the end of the stream: the last message if the sender closed without ending it
    /// (an unfinished octet-counted frame is marked truncated).
    public mutating func finish() -> SyslogFrame? {
        defer {
            state = .awaitingFirstByte
            framing = nil
        }
        switch state {
        case .line, .length:
            return buffer.isEmpty ? nil : takeFrame(truncated: false)
        case .octets:
            return takeFrame(truncated: true)
        case .awaitingFirstByte, .skippingOctets, .skippingLine:
            return nil
        }
    }

    /// Bytes allocated for the message in progress: `limit` at most, plus the allocator's rounding.
    /// Bytes the framer holds room for now: what a long or endless frame costs in memory.
    public var bufferedCapacity: Int { buffer.capacity }

    /// MSG-LEN SP, leniently preceded by blanks between frames. A header that is not a length
    /// (no digits before the space, a leading zero, too many digits, another byte) switches the
    /// connection to LF framing with the header as the start of a line: the stream resynchronises
    /// at the next LF and nothing read is lost.
    private mutating func readLength(_ length: Int, _ bytes: UnsafeRawBufferPointer, at start: Int) -> Int {
        var length = length
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if buffer.isEmpty, byte.isBlank {
                index += 1
                continue
            }
            if byte == .space {
                buffer.removeAll(keepingCapacity: true)
                buffer.reserveCapacity(min(length, limit))
                state = .octets(remaining: length)
                return index + 1
            }
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10, !(buffer.isEmpty && digit == 0), buffer.count < Self.maxLengthDigits else {
                framing = .nonTransparent
                state = .line
                return index
            }
            length = length * 10 + Int(digit)
            buffer.append(byte)
            index += 1
        }
        state = .length(length)
        return index
    }

    /// Appends up to the next LF or NUL; at one, delivers the line without its CR.
    private mutating func readLine(
        _ bytes: UnsafeRawBufferPointer, at start: Int, deliver: (SyslogFrame) -> Void
    ) -> Int {
        var end = start
        while end < bytes.count, !bytes[end].endsLine { end += 1 }
        let room = limit - buffer.count
        if end - start > room {
            append(UnsafeRawBufferPointer(rebasing: bytes[start..<start + room]))
            deliver(takeFrame(truncated: true))
            state = .skippingLine
            return start + room
        }
        append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        guard end < bytes.count else { return end }
        while buffer.last == UInt8(ascii: "\r") { buffer.removeLast() }
        // Blank lines between messages (a CRLF split oddly, keep-alives) are not messages.
        if !buffer.isEmpty { deliver(takeFrame(truncated: false)) }
        return end + 1
    }

    /// Grows the buffer geometrically but never past `limit`, which Array's own growth would do.
    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let needed = buffer.count + bytes.count
        if needed > buffer.capacity { buffer.reserveCapacity(min(limit, max(needed, buffer.capacity * 2))) }
        buffer.append(contentsOf: bytes)
    }

    private mutating func takeFrame(truncated: Bool) -> SyslogFrame {
        defer { buffer = [] }
        return SyslogFrame(bytes: buffer, truncated: truncated)
    }
}

extension UInt8 {
    /// What may separate frames: LF, CR, NUL, space.
    fileprivate var isBlank: Bool { self == 0x0A || self == 0x0D || self == 0 || self == .space }

    fileprivate var endsLine: Bool { self == 0x0A || self == 0 }
}
