/// An extended regular expression as a tree of byte sets, for ``LazyDFA``.
indirect enum RegexNode: Equatable {
    case bytes(ByteSet)
    case sequence([RegexNode])
    case alternatives([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)
    /// `^` and `$`: the start and the end of the message (there is no multi-line mode).
    case start
    case end
}

/// Reads the part of POSIX extended regular expression syntax whose meaning in the C locale
/// is beyond doubt. Anything else (GNU escapes such as `\w`, non-ASCII characters, collating
/// elements, an empty branch, a quantifier with nothing before it) throws ``Unsupported``,
/// and the caller falls back to the C library's regexec, so no pattern changes meaning.
/// The pattern has already passed regcomp, which reports syntax errors.
struct RegexParser {
    struct Unsupported: Error {}

    /// Bounds above this would make too many automaton states; regexec takes those.
    static let maximumBound = 1_000

    private let pattern: [UInt8]
    private var index = 0

    static func parse(_ pattern: String) throws -> RegexNode {
        var parser = RegexParser(pattern: Array(pattern.utf8))
        let node = try parser.alternatives()
        guard parser.index == parser.pattern.count else { throw Unsupported() }
        return node
    }

    private init(pattern: [UInt8]) {
        self.pattern = pattern
    }

    private var current: UInt8? { index < pattern.count ? pattern[index] : nil }
    private var following: UInt8? { index + 1 < pattern.count ? pattern[index + 1] : nil }

    private mutating func alternatives() throws -> RegexNode {
        var branches = [try branch()]
        while current == UInt8(ascii: "|") {
            index += 1
            branches.append(try branch())
        }
        return branches.count == 1 ? branches[0] : .alternatives(branches)
    }

    private mutating func branch() throws -> RegexNode {
        var pieces: [RegexNode] = []
        while let byte = current, byte != UInt8(ascii: "|"), byte != UInt8(ascii: ")") {
            pieces.append(try piece())
        }
        guard !pieces.isEmpty else { throw Unsupported() }
        return pieces.count == 1 ? pieces[0] : .sequence(pieces)
    }

    private mutating func piece() throws -> RegexNode {
        var node = try atom()
        while let byte = current {
            let bounds: (Int, Int?)
            switch byte {
            case UInt8(ascii: "*"): bounds = (0, nil)
            case UInt8(ascii: "+"): bounds = (1, nil)
            case UInt8(ascii: "?"): bounds = (0, 1)
            case UInt8(ascii: "{"): bounds = try interval()
            default: return node
            }
            if byte != UInt8(ascii: "{") { index += 1 }
            guard node != .start, node != .end else { throw Unsupported() }
            node = .repetition(node, min: bounds.0, max: bounds.1)
        }
        return node
    }

    /// `{n}`, `{n,}` or `{n,m}`, from the `{` to past the `}`.
    private mutating func interval() throws -> (Int, Int?) {
        index += 1
        let minimum = try number()
        var maximum: Int? = minimum
        if current == UInt8(ascii: ",") {
            index += 1
            maximum = current == UInt8(ascii: "}") ? nil : try number()
        }
        guard current == UInt8(ascii: "}") else { throw Unsupported() }
        index += 1
        if let maximum, maximum < minimum { throw Unsupported() }
        return (minimum, maximum)
    }

    private mutating func number() throws -> Int {
        var value = 0, digits = 0
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            index += 1
            guard value <= Self.maximumBound else { throw Unsupported() }
        }
        guard digits > 0 else { throw Unsupported() }
        return value
    }

    private mutating func atom() throws -> RegexNode {
        guard let byte = current else { throw Unsupported() }
        index += 1
        switch byte {
        case UInt8(ascii: "("):
            let inner = try alternatives()
            guard current == UInt8(ascii: ")") else { throw Unsupported() }
            index += 1
            return inner
        case UInt8(ascii: "."): return .bytes(.all)
        case UInt8(ascii: "^"): return .start
        case UInt8(ascii: "$"): return .end
        case UInt8(ascii: "["): return .bytes(try bracket())
        case UInt8(ascii: "\\"):
            guard let escaped = current, escaped < 0x80, !Self.isAlphanumeric(escaped) else { throw Unsupported() }
            index += 1
            return .bytes(ByteSet(escaped))
        case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"):
            throw Unsupported()
        default:
            guard byte < 0x80 else { throw Unsupported() }
            return .bytes(ByteSet(byte))
        }
    }

    /// A bracket expression, from past the `[` to past its `]`.
    private mutating func bracket() throws -> ByteSet {
        var set = ByteSet()
        let negated = current == UInt8(ascii: "^")
        if negated { index += 1 }
        var first = true
        while true {
            guard let byte = current, byte < 0x80 else { throw Unsupported() }
            if byte == UInt8(ascii: "]") && !first {
                index += 1
                break
            }
            first = false
            if byte == UInt8(ascii: "[") {
                if following == UInt8(ascii: ":") {
                    set.formUnion(try characterClass())
                    if current == UInt8(ascii: "-") && following != UInt8(ascii: "]") { throw Unsupported() }
                    continue
                }
                if following == UInt8(ascii: "=") || following == UInt8(ascii: ".") { throw Unsupported() }
            }
            index += 1
            if current == UInt8(ascii: "-"), let last = following, last != UInt8(ascii: "]") {
                guard last < 0x80, last != UInt8(ascii: "["), last >= byte else { throw Unsupported() }
                index += 2
                set.insert(byte...last)
            } else {
                set.insert(byte)
            }
        }
        return negated ? set.inverted : set
    }

    /// `[:name:]`, from its `[` to past its `]`, with the C locale's members.
    private mutating func characterClass() throws -> ByteSet {
        let nameStart = index + 2
        var end = nameStart
        while end + 1 < pattern.count, !(pattern[end] == UInt8(ascii: ":") && pattern[end + 1] == UInt8(ascii: "]")) {
            end += 1
        }
        guard end + 1 < pattern.count, let members = Self.classes[String(decoding: pattern[nameStart..<end], as: UTF8.self)]
        else { throw Unsupported() }
        index = end + 2
        return members
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        classes["alnum"]!.contains(byte)
    }

    private static let classes: [String: ByteSet] = {
        func set(_ ranges: ClosedRange<UInt8>...) -> ByteSet {
            var set = ByteSet()
            ranges.forEach { set.insert($0) }
            return set
        }
        let upper = set(65...90), lower = set(97...122), digit = set(48...57)
        var alpha = upper
        alpha.formUnion(lower)
        var alnum = alpha
        alnum.formUnion(digit)
        return [
            "upper": upper, "lower": lower, "digit": digit, "alpha": alpha, "alnum": alnum,
            "xdigit": set(48...57, 65...70, 97...102),
            "space": set(9...13, 32...32), "blank": set(9...9, 32...32),
            "punct": set(33...47, 58...64, 91...96, 123...126),
            "print": set(32...126), "graph": set(33...126), "cntrl": set(0...31, 127...127),
        ]
    }()
}
