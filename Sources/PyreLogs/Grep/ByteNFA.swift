/// Thompson's construction of a ``RegexNode``: states that consume one byte of a set,
/// forks, the two anchors and the final state.
struct ByteNFA {
    enum State {
        case consume(ByteSet, next: Int32)
        case fork(Int32, Int32)
        case atStart(next: Int32)
        case atEnd(next: Int32)
        case match
    }

    /// Patterns bigger than this (long bounded repetitions, mostly) are left to regexec.
    static let maximumStates = 10_000

    private(set) var states: [State] = [.match]
    private(set) var entry: Int32 = 0

    init(_ node: RegexNode) throws {
        entry = try compile(node, then: 0)
    }

    private mutating func add(_ state: State) throws -> Int32 {
        guard states.count < Self.maximumStates else { throw RegexParser.Unsupported() }
        states.append(state)
        return Int32(states.count - 1)
    }

    /// Adds the states that match `node` and then continue at `next`; returns their entry.
    private mutating func compile(_ node: RegexNode, then next: Int32) throws -> Int32 {
        switch node {
        case .bytes(let set):
            return try add(.consume(set, next: next))
        case .sequence(let nodes):
            var target = next
            for node in nodes.reversed() { target = try compile(node, then: target) }
            return target
        case .alternatives(let nodes):
            var target = try compile(nodes[nodes.count - 1], then: next)
            for node in nodes.dropLast().reversed() {
                target = try add(.fork(try compile(node, then: next), target))
            }
            return target
        case .start:
            return try add(.atStart(next: next))
        case .end:
            return try add(.atEnd(next: next))
        case .repetition(let inner, let minimum, let maximum):
            var target = next
            if let maximum {
                // x{0,2} is (x(x)?)?: each optional copy may stop and go on to `next`.
                for _ in 0..<(maximum - minimum) {
                    target = try add(.fork(try compile(inner, then: target), next))
                }
            } else {
                let loop = try add(.fork(0, 0))
                states[Int(loop)] = .fork(try compile(inner, then: loop), next)
                target = loop
            }
            for _ in 0..<minimum { target = try compile(inner, then: target) }
            return target
        }
    }
}
