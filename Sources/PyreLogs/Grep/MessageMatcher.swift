import PyreCore
#if canImport(Glibc)
import Glibc
#endif

/// `--grep`: a POSIX extended regular expression, as `grep -E` reads it in the C locale,
/// matched bytewise. A pattern without special characters is searched as a plain substring;
/// others run on a ``LazyDFA``, or on the C library's regexec for the few constructs the
/// automaton leaves to it (see ``RegexParser``).
final class MessageMatcher {
    private enum Kind {
        case literal
        case automaton(LazyDFA)
        case regex(UnsafeMutablePointer<regex_t>)
    }

    private let kind: Kind
    /// A substring every match contains (the whole pattern for a literal): messages without
    /// it are skipped without running the expression (what grep and ripgrep do too).
    private let required: [UInt8]
    /// regexec wants a NUL-terminated string; messages are copied here first.
    private var scratch: [CChar] = []

    init(_ pattern: String) throws {
        if !pattern.contains(where: { "\\^$.[]|()*+?{}".contains($0) }) {
            kind = .literal
            required = Array(pattern.utf8)
            return
        }
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let status = regcomp(compiled, pattern, REG_EXTENDED | REG_NOSUB)
        guard status == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(status, compiled, &message, message.count)
            compiled.deallocate()
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PyreError(.logs, "--grep '\(pattern)' is not a POSIX extended regular expression: \(reason)")
        }
        required = Array(Self.requiredLiteral(of: pattern).utf8)
        if let automaton = try? LazyDFA(ByteNFA(RegexParser.parse(pattern))) {
            regfree(compiled)
            compiled.deallocate()
            kind = .automaton(automaton)
        } else {
            kind = .regex(compiled)
        }
    }

    /// Whether the pattern runs on the automaton rather than regexec (for tests).
    var usesAutomaton: Bool {
        if case .automaton = kind { true } else { false }
    }

    /// The longest run of plain characters outside groups and brackets that every match of an
    /// extended regular expression contains; empty when there is none or alternation makes it
    /// optional. A character followed by `?`, `*` or `{` may be absent, so it ends the run first.
    static func requiredLiteral(of pattern: String) -> String {
        let characters = Array(pattern)
        guard !characters.contains("|") else { return "" }
        var best = "", run = ""
        var depth = 0
        var index = 0
        func endRun() {
            if run.count > best.count { best = run }
            run = ""
        }
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "\\" where index + 1 < characters.count:
                let escaped = characters[index + 1]
                if depth == 0 && !escaped.isLetter && !escaped.isNumber { run.append(escaped) } else { endRun() }
                index += 2
                continue
            case "[":
                endRun()
                // Skip the bracket expression; `]` right after `[` or `[^` is a member.
                index += 1
                if index < characters.count, characters[index] == "^" { index += 1 }
                if index < characters.count, characters[index] == "]" { index += 1 }
                while index < characters.count, characters[index] != "]" { index += 1 }
            case "(":
                endRun()
                depth += 1
            case ")":
                depth -= 1
            case "?", "*", "{":
                if !run.isEmpty { run.removeLast() }
                endRun()
                if character == "{" { while index < characters.count, characters[index] != "}" { index += 1 } }
            case "+":
                endRun()
            case ".", "^", "$":
                endRun()
            default:
                if depth == 0 { run.append(character) } else { endRun() }
            }
            index += 1
        }
        endRun()
        return best
    }

    deinit {
        if case .regex(let compiled) = kind {
            regfree(compiled)
            compiled.deallocate()
        }
    }

    /// memchr for the first byte, memcmp for the rest (Glibc's memmem is not imported).
    private func contains(_ needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Bool {
        guard needle.count <= haystack.count, let base = haystack.baseAddress else { return false }
        let first = Int32(needle[0])
        var start = 0
        let lastStart = haystack.count - needle.count
        while start <= lastStart {
            guard let hit = memchr(base + start, first, lastStart - start + 1) else { return false }
            let index = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + index, needle.baseAddress!, needle.count) == 0 { return true }
            start = index + 1
        }
        return false
    }

    func matches(_ message: UnsafeRawBufferPointer) -> Bool {
        if !required.isEmpty, !required.withUnsafeBytes({ contains($0, in: message) }) { return false }
        switch kind {
        case .literal:
            return true
        case .automaton(let automaton):
            return automaton.matches(message)
        case .regex(let compiled):
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: message.lazy.map { CChar(bitPattern: $0 == 0 ? 0x20 : $0) })
            scratch.append(0)
            return regexec(compiled, scratch, 0, nil, 0) == 0
        }
    }
}
