/// RFC 5424 STRUCTURED-DATA (section 6.3): NILVALUE, or SD-ELEMENTs `[id name="value" …]`
/// back to back, with `\"`, `\\` and `\]` escaped in values.
enum StructuredDataParser {
    static func parse(_ scanner: inout ByteScanner) throws(SyslogParseError) -> [SyslogStructuredElement] {
        if scanner.current == UInt8(ascii: "-") {
            scanner.index += 1
            return []
        }
        guard scanner.current == UInt8(ascii: "[") else {
            throw scanner.isAtEnd ? .headerEndsEarly : .invalidStructuredData
        }
        var elements: [SyslogStructuredElement] = []
        while scanner.skip(UInt8(ascii: "[")) {
            elements.append(try element(&scanner))
        }
        return elements
    }

    /// After the `[`: SD-ID, then ` name="value"` until `]`.
    private static func element(_ scanner: inout ByteScanner) throws(SyslogParseError) -> SyslogStructuredElement {
        var element = SyslogStructuredElement(id: try name(&scanner))
        while true {
            guard let byte = scanner.current else { throw .unterminatedStructuredData }
            scanner.index += 1
            switch byte {
            case UInt8(ascii: "]"):
                return element
            case .space:
                let name = try name(&scanner)
                guard scanner.skip(UInt8(ascii: "=")), scanner.skip(UInt8(ascii: "\"")) else {
                    throw scanner.isAtEnd ? .unterminatedStructuredData : .invalidStructuredData
                }
                element.parameters.append(SyslogStructuredParameter(name, try value(&scanner)))
            default:
                throw .invalidStructuredData
            }
        }
    }

    /// SD-NAME: 1 to 32 visible ASCII bytes other than `=`, space, `]` and `"`.
    private static func name(_ scanner: inout ByteScanner) throws(SyslogParseError) -> String {
        let start = scanner.index
        while let byte = scanner.current, byte.isPrintableASCII, byte != UInt8(ascii: "="),
              byte != UInt8(ascii: "]"), byte != UInt8(ascii: "\"") {
            scanner.index += 1
        }
        guard !scanner.isAtEnd else { throw .unterminatedStructuredData }
        guard scanner.index > start, scanner.index - start <= 32 else { throw .invalidStructuredData }
        return scanner.string(start..<scanner.index)
    }

    /// PARAM-VALUE after its opening quote, up to and including the closing one. A backslash
    /// before any other byte stays a backslash, as section 6.3.3 requires.
    private static func value(_ scanner: inout ByteScanner) throws(SyslogParseError) -> String {
        let start = scanner.index
        var hasEscapes = false
        while let byte = scanner.current {
            if byte == UInt8(ascii: "\"") {
                let text = hasEscapes ? unescaped(scanner, start..<scanner.index) : scanner.string(start..<scanner.index)
                scanner.index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                scanner.index += 1
            }
            scanner.index += 1
        }
        throw .unterminatedStructuredData
    }

    private static func unescaped(_ scanner: ByteScanner, _ range: Range<Int>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(range.count)
        var position = range.lowerBound
        while position < range.upperBound {
            let byte = scanner.bytes[position]
            if byte == UInt8(ascii: "\\"), position + 1 < range.upperBound {
                let next = scanner.bytes[position + 1]
                if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "]") {
                    bytes.append(next)
                    position += 2
                    continue
                }
            }
            bytes.append(byte)
            position += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
