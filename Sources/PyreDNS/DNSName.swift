/// A validated domain name held as lowercased labels (the root is implied, not stored).
struct DNSName: Hashable, Sendable, CustomStringConvertible {
    static let maxWireLength = 255
    static let maxLabelLength = 63

    let labels: [[UInt8]]

    init(labels: [[UInt8]]) {
        self.labels = labels.map { $0.map(asciiLowercased) }
    }

    /// Parses an absolute name such as "web.hello.pyre." (the trailing dot is optional).
    /// Only letters, digits, '-' and '_' are accepted so every name prints back into a
    /// zone file unchanged.
    init(parsing text: String) throws(DNSNameError) {
        var body = Substring(text)
        if body.hasSuffix(".") { body = body.dropLast() }
        if body.isEmpty {
            guard text == "." else { throw .empty }
            self.init(lowercasedLabels: [])
            return
        }
        var labels: [[UInt8]] = []
        for part in body.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw .emptyLabel(text) }
            let bytes = Array(part.utf8)
            guard bytes.count <= Self.maxLabelLength else { throw .labelTooLong(String(part)) }
            if let bad = bytes.first(where: { !isHostnameByte($0) }) {
                throw .invalidCharacter(text, Character(Unicode.Scalar(bad)))
            }
            labels.append(bytes)
        }
        self.init(labels: labels)
        guard wireLength <= Self.maxWireLength else { throw .nameTooLong(text) }
    }

    /// Length-prefixed labels followed by the root's zero byte.
    var wire: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(wireLength)
        for label in labels {
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
        return bytes
    }

    var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// True when self equals `ancestor` or lies below it.
    func isInside(_ ancestor: DNSName) -> Bool {
        labels.count >= ancestor.labels.count && labels.suffix(ancestor.labels.count).elementsEqual(ancestor.labels)
    }

    var parent: DNSName? { labels.isEmpty ? nil : DNSName(lowercasedLabels: Array(labels.dropFirst())) }

    var description: String { presentationText(labels) }

    private init(lowercasedLabels: [[UInt8]]) { self.labels = lowercasedLabels }
}

enum DNSNameError: Error, CustomStringConvertible {
    case empty
    case emptyLabel(String)
    case labelTooLong(String)
    case nameTooLong(String)
    case invalidCharacter(String, Character)

    var description: String {
        switch self {
        case .empty: "the name is empty (write \".\" for the root)"
        case .emptyLabel(let name): "\"\(name)\" has an empty label (two dots in a row)"
        case .labelTooLong(let label): "the label \"\(label)\" is longer than 63 bytes"
        case .nameTooLong(let name): "\"\(name)\" is longer than 255 bytes in wire form"
        case .invalidCharacter(let name, let character):
            "\"\(name)\" contains \"\(character)\"; use only letters, digits, '-' and '_'"
        }
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}

private func isHostnameByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"): true
    default: false
    }
}

/// Master-file text of a name, escaping bytes that are not plain (RFC 1035 §5.1).
func presentationText(_ labels: [[UInt8]]) -> String {
    guard !labels.isEmpty else { return "." }
    var text = ""
    for label in labels {
        for byte in label {
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"),
                 UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                text += "\\" + String(UnicodeScalar(byte))
            case 0x21...0x7E:
                text.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let digits = String(byte)
                text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
            }
        }
        text += "."
    }
    return text
}
