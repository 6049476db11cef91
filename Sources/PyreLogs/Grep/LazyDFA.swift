/// Answers "does this message contain a match" in one pass over its bytes: a deterministic
/// automaton whose states (sets of ``ByteNFA`` states) are built the first time the input
/// needs them and then reused for every later message, as RE2 and Rust's regex crate do.
/// Each byte then costs two table lookups, where regexec costs microseconds per message.
/// Not shareable between threads: states are added while matching.
final class LazyDFA {
    /// When this many states exist, they are dropped and built again as needed, so a pattern
    /// whose automaton would be huge uses bounded memory (it only gets slower).
    static let maximumStates = 4_096

    private static let accepting: UInt8 = 1
    /// No state is left, so none can start again either: every step adds the entry's
    /// closure, and an empty set means that closure is empty (every branch began with `^`).
    private static let dead: UInt8 = 2

    private let nfa: [ByteNFA.State]
    private let entry: Int32
    /// Bytes that every byte set treats alike share one column of the transition table.
    private let classOf: UnsafeMutablePointer<UInt8>
    private let representatives: [UInt8]
    private var classCount: Int { representatives.count }

    private var sets: [[Int32]] = []
    private var ids: [[Int32]: Int32] = [:]
    private var flags: [UInt8] = []
    /// One row of `classCount` entries per state. An entry is the next state's row offset;
    /// -1 where not built yet; `-2 - offset` when the next state is accepting or dead, so the
    /// loop over a message tests one sign per byte.
    private var table: UnsafeMutablePointer<Int32>
    private var tableCapacity = 0
    private var initial: Int32 = 0

    private var marks: [UInt32]
    private var generation: UInt32 = 0

    init(_ nfa: ByteNFA) {
        self.nfa = nfa.states
        entry = nfa.entry
        marks = Array(repeating: 0, count: nfa.states.count)
        var byteSets: [ByteSet] = []
        for case .consume(let set, _) in nfa.states where !byteSets.contains(set) { byteSets.append(set) }
        var classOf = [UInt8](repeating: 0, count: 256)
        var representatives: [UInt8] = []
        var classBySignature: [[Bool]: UInt8] = [:]
        for byte in 0...255 {
            // regexec saw NUL bytes as spaces (it needs a NUL-terminated string); so does this.
            let effective = byte == 0 ? UInt8(ascii: " ") : UInt8(byte)
            let signature = byteSets.map { $0.contains(effective) }
            if let known = classBySignature[signature] {
                classOf[byte] = known
            } else {
                let id = UInt8(representatives.count)
                classBySignature[signature] = id
                representatives.append(effective)
                classOf[byte] = id
            }
        }
        self.classOf = .allocate(capacity: 256)
        self.classOf.initialize(from: classOf, count: 256)
        self.representatives = representatives
        tableCapacity = 64 * representatives.count
        table = .allocate(capacity: tableCapacity)
        initial = intern(closure(of: [entry], atStart: true))
    }

    deinit {
        table.deallocate()
        classOf.deallocate()
    }

    func matches(_ message: UnsafeRawBufferPointer) -> Bool {
        if flags[Int(initial)] != 0 { return flags[Int(initial)] & Self.accepting != 0 }
        let classCount = self.classCount
        let classOf = self.classOf
        var offset = Int(initial) * classCount
        var table = self.table
        for byte in message {
            let column = Int(classOf[Int(byte)])
            let next = table[offset + column]
            if next >= 0 {
                offset = Int(next)
                continue
            }
            offset = next == -1 ? build(fromRow: offset, column: column) : Int(-2 - next)
            table = self.table
            let stateFlags = flags[offset / classCount]
            if stateFlags != 0 { return stateFlags & Self.accepting != 0 }
        }
        return acceptsAtEnd(sets[offset / classCount], atStart: message.isEmpty)
    }

    /// Adds the transition from the state at row `row` on `column`; returns the next row.
    private func build(fromRow row: Int, column: Int) -> Int {
        let state = sets[row / classCount]
        let byte = representatives[column]
        var targets: [Int32] = [entry]
        for member in state {
            if case .consume(let set, let next) = nfa[Int(member)], set.contains(byte) { targets.append(next) }
        }
        let nextSet = closure(of: targets, atStart: false)
        var from = row
        if sets.count >= Self.maximumStates {
            sets.removeAll(keepingCapacity: true)
            ids.removeAll(keepingCapacity: true)
            flags.removeAll(keepingCapacity: true)
            initial = intern(closure(of: [entry], atStart: true))
            from = Int(intern(state)) * classCount
        }
        let next = Int(intern(nextSet))
        let nextRow = next * classCount
        table[from + column] = Int32(flags[next] != 0 ? -2 - nextRow : nextRow)
        return nextRow
    }

    private func intern(_ set: [Int32]) -> Int32 {
        if let id = ids[set] { return id }
        let id = Int32(sets.count)
        sets.append(set)
        ids[set] = id
        var stateFlags: UInt8 = 0
        if set.contains(where: { if case .match = nfa[Int($0)] { true } else { false } }) { stateFlags |= Self.accepting }
        if set.isEmpty { stateFlags |= Self.dead }
        flags.append(stateFlags)
        let rows = sets.count * classCount
        if rows > tableCapacity {
            let grown = UnsafeMutablePointer<Int32>.allocate(capacity: tableCapacity * 2)
            grown.update(from: table, count: tableCapacity)
            table.deallocate()
            table = grown
            tableCapacity *= 2
        }
        (table + Int(id) * classCount).initialize(repeating: -1, count: classCount)
        return id
    }

    /// The states reachable from `starts` without consuming a byte, `^` passing only at the
    /// start of the message; `$` states are kept as they are, for ``acceptsAtEnd(_:atStart:)``.
    private func closure(of starts: [Int32], atStart: Bool) -> [Int32] {
        generation &+= 1
        var stack = starts
        var members: [Int32] = []
        while let state = stack.popLast() {
            guard marks[Int(state)] != generation else { continue }
            marks[Int(state)] = generation
            switch nfa[Int(state)] {
            case .consume, .atEnd, .match: members.append(state)
            case .fork(let first, let second): stack += [second, first]
            case .atStart(let next): if atStart { stack.append(next) }
            }
        }
        return members.sorted()
    }

    /// Whether the message may end here: a match is reachable through `$` and forks.
    private func acceptsAtEnd(_ set: [Int32], atStart: Bool) -> Bool {
        generation &+= 1
        var stack = set
        while let state = stack.popLast() {
            guard marks[Int(state)] != generation else { continue }
            marks[Int(state)] = generation
            switch nfa[Int(state)] {
            case .match: return true
            case .consume: break
            case .fork(let first, let second): stack += [second, first]
            case .atEnd(let next): stack.append(next)
            case .atStart(let next): if atStart { stack.append(next) }
            }
        }
        return false
    }
}
