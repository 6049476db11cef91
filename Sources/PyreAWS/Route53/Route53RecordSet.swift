import PyreCore

/// A set of records with one name and type, as Route 53 holds them.
public struct Route53RecordSet: Sendable, Equatable {
    /// Absolute, with the final dot.
    public var name: String
    /// `A`, `SRV`, `TXT`, …
    public var type: String
    public var ttl: Int
    public var values: [String]

    public init(name: String, type: String, ttl: Int, values: [String]) {
        self.name = Route53Client.absolute(name)
        self.type = type
        self.ttl = ttl
        self.values = values
    }

    init(_ tree: XMLTree) {
        name = tree["Name"]?.text ?? ""
        type = tree["Type"]?.text ?? ""
        ttl = tree["TTL"].flatMap { Int($0.text) } ?? 0
        values = tree["ResourceRecords"]?.all("ResourceRecord").compactMap { $0["Value"]?.text } ?? []
    }

    /// TXT strings as Route 53 takes them: each in quotes, `"` and `\` escaped with a
    /// backslash, and every byte outside printable ASCII (a control character, each byte of
    /// UTF-8 beyond ASCII) as `\` and three octal digits; Route 53 refuses them raw.
    public static func txtValue(_ strings: [String]) -> String {
        strings.map { string in
            var out = "\""
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out += "\\" + String(UnicodeScalar(byte))
                case 0x20...0x7E:
                    out.append(Character(UnicodeScalar(byte)))
                default:
                    let octal = String(byte, radix: 8)
                    out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
                }
            }
            return out + "\""
        }.joined(separator: " ")
    }

    var xml: String {
        "<ResourceRecordSet><Name>\(MarkupText.escape(name))</Name><Type>\(MarkupText.escape(type))</Type>"
            + "<TTL>\(ttl)</TTL><ResourceRecords>"
            + values.map { "<ResourceRecord><Value>\(MarkupText.escape($0))</Value></ResourceRecord>" }.joined()
            + "</ResourceRecords></ResourceRecordSet>"
    }
}

/// One change in a ChangeResourceRecordSets batch.
public struct Route53Change: Sendable, Equatable {
    public enum Action: String, Sendable {
        case create = "CREATE"
        case upsert = "UPSERT"
        /// Must name the record set exactly as it is (TTL and values too).
        case delete = "DELETE"
    }

    public var action: Action
    public var recordSet: Route53RecordSet

    public init(_ action: Action, _ recordSet: Route53RecordSet) {
        self.action = action
        self.recordSet = recordSet
    }

    var xml: String {
        "<Change><Action>\(action.rawValue)</Action>\(recordSet.xml)</Change>"
    }
}
