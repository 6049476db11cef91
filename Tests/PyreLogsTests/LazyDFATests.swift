import Glibc
import PyreCore
import Testing
@testable import PyreLogs

/// The automaton against glibc's regexec, the reference for what `--grep` means.
@Suite struct LazyDFATests {
    /// Random patterns over a small alphabet, each tried on random one-line messages: every
    /// answer must be regexec's. (On a message with a newline, glibc lets `^` match after it
    /// and `$` before it in some patterns and not others; `--grep` anchors at the message's
    /// start and end, as `grep -E` does at a line's, see ``anchorsAreTheWholeMessages()``.)
    @Test(arguments: [1, 2, 3, 4])
    func agreesWithRegexecOnRandomPatterns(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var automatonPatterns = 0
        for _ in 0..<600 {
            // glibc is wrong about anchors inside repetitions (see anchorsInsideGroups), so the
            // random patterns are anchored only as a whole.
            let pattern = ["", "^"][Int(random.next() % 2)] + randomPattern(depth: 0, &random) + ["", "$"][Int(random.next() % 2)]
            guard let reference = Regexec(pattern) else { continue }
            guard let automaton = try? LazyDFA(ByteNFA(RegexParser.parse(pattern))) else { continue }
            automatonPatterns += 1
            for _ in 0..<40 {
                let length = Int(random.next() % 14)
                let message = (0..<length).map { _ in Array("abc.x ".utf8)[Int(random.next() % 6)] }
                let expected = reference.matches(message)
                let actual = message.withUnsafeBytes { automaton.matches($0) }
                #expect(actual == expected, "pattern \(pattern) on \(String(decoding: message, as: UTF8.self).debugDescription)")
                if actual != expected { return }
            }
        }
        #expect(automatonPatterns > 400, "most random patterns should run on the automaton")
    }

    @Test(arguments: [
        ("[0-9]{7}ms", ["took 1234567ms", "took 12345678ms!"], ["took 123456ms", "1234567 ms", ""]),
        ("^GET /[a-z]+ ", ["GET /users HTTP"], [" GET /users ", "GET / "]),
        ("(error|fail(ed|ure))$", ["disk failure", "it failed", "error"], ["errors", "failing"]),
        ("^$", [""], [" "]),
        ("x*", ["", "abc"], []),
        ("[[:digit:][:upper:]]{2}", ["aB7", "99"], ["a7b", "ab"]),
        ("[^[:space:]]=[^ ]", ["k=v"], ["k= v", " =x"]),
        (#"a\.b"#, ["a.b"], ["axb"]),
        ("[]x]-[a-]", ["]-a", "x--"], ["y-a"]),
        ("a{2,3}b", ["aab", "aaab", "aaaab"], ["ab"]),
        ("(ab){0}c", ["c"], ["d"]),
    ])
    func matchesWhatRegexecMatches(pattern: String, matching: [String], notMatching: [String]) throws {
        let reference = try #require(Regexec(pattern))
        let automaton = try LazyDFA(ByteNFA(RegexParser.parse(pattern)))
        for message in matching + notMatching {
            let bytes = Array(message.utf8)
            #expect(reference.matches(bytes) == matching.contains(message), "regexec: \(pattern) on \(message)")
            #expect(bytes.withUnsafeBytes { automaton.matches($0) } == matching.contains(message), "\(pattern) on \(message)")
        }
    }

    /// Where glibc's regexec says these match, GNU grep -E and Python's re say they do not;
    /// so does the automaton.
    @Test(arguments: [
        ("($c*|\\.?a{1,2}a*){2,2}x{1,3}(c{0}|a^)", "cacxa xcaca.x"),
        ("(\\.?\\.+|a(^\\.{0,3}b+|^a*)+a*){2}", "x.x.a"),
        ("(.{0,2}($|b\\.{1,2})b{1}|x*.*x)+a*[]a]{1,2}", "ca ccxbaab"),
    ])
    func anchorsInsideGroups(pattern: String, message: String) throws {
        let automaton = try LazyDFA(ByteNFA(RegexParser.parse(pattern)))
        #expect(!Array(message.utf8).withUnsafeBytes { automaton.matches($0) })
    }

    @Test func anchorsAreTheWholeMessages() throws {
        let cases: [(String, String, Bool)] = [
            ("^b", "a\nb", false), ("a$", "a\nb", false), ("a$.b", "a\nb", false),
            ("^a.b$", "a\nb", true), ("a[^x]b", "a\nb", true),
        ]
        for (pattern, message, expected) in cases {
            let automaton = try LazyDFA(ByteNFA(RegexParser.parse(pattern)))
            #expect(Array(message.utf8).withUnsafeBytes { automaton.matches($0) } == expected, "\(pattern)")
        }
    }

    /// NUL bytes read as spaces, as they did when messages went to regexec.
    @Test func nulReadsAsASpace() throws {
        let automaton = try LazyDFA(ByteNFA(RegexParser.parse("a b")))
        #expect([UInt8(ascii: "a"), 0, UInt8(ascii: "b")].withUnsafeBytes { automaton.matches($0) })
    }

    /// `(a|b)*a(a|b){12}` needs 2^13 states; they are dropped and rebuilt, and answers stay right.
    @Test func aHugeAutomatonStaysBoundedAndCorrect() throws {
        let pattern = "(a|b)*a(a|b){12}$"
        let reference = try #require(Regexec(pattern))
        let automaton = try LazyDFA(ByteNFA(RegexParser.parse(pattern)))
        var random = SplitMix64(seed: 7)
        for _ in 0..<3_000 {
            let message = (0..<40).map { _ in random.next() % 2 == 0 ? UInt8(ascii: "a") : UInt8(ascii: "b") }
            #expect(message.withUnsafeBytes { automaton.matches($0) } == reference.matches(message))
        }
    }

    /// What the parser cannot read for certain goes to regexec, so it still works.
    @Test(arguments: [#"\w+"#, "é+", "[[=a=]]", "a|", "()", "*a", "a{1,2000}", "[[:alpha:]-z]"])
    func constructsLeftToRegexec(pattern: String) throws {
        #expect(throws: RegexParser.Unsupported.self) { try ByteNFA(RegexParser.parse(pattern)) }
        if Regexec(pattern) != nil {
            #expect(try !MessageMatcher(pattern).usesAutomaton)
        }
    }

    private func randomPattern(depth: Int, _ random: inout SplitMix64) -> String {
        var pattern = ""
        for _ in 0...(random.next() % 3) {
            var atom: String
            switch random.next() % (depth < 2 ? 12 : 10) {
            case 0, 1, 2: atom = ["a", "b", "c", "x"][Int(random.next() % 4)]
            case 3: atom = "."
            case 4: atom = ["[ab]", "[^a]", "[a-c]", "[[:alpha:]]", "[^. ]", "[]a]"][Int(random.next() % 6)]
            case 5: atom = #"\."#
            case 6, 7, 8, 9: atom = "a"
            default: atom = "(" + randomPattern(depth: depth + 1, &random) + "|" + randomPattern(depth: depth + 1, &random) + ")"
            }
            switch random.next() % 8 {
            case 0: atom += "*"
            case 1: atom += "+"
            case 2: atom += "?"
            case 3: atom += "{\(random.next() % 3),\(2 + random.next() % 2)}"
            case 4: atom += "{\(random.next() % 3)}"
            default: break
            }
            pattern += atom
        }
        return pattern
    }
}

/// glibc's regexec, as the matcher used it before the automaton.
private final class Regexec {
    private let compiled: UnsafeMutablePointer<regex_t>

    init?(_ pattern: String) {
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        guard regcomp(compiled, pattern, REG_EXTENDED | REG_NOSUB) == 0 else {
            compiled.deallocate()
            return nil
        }
        self.compiled = compiled
    }

    deinit {
        regfree(compiled)
        compiled.deallocate()
    }

    func matches(_ message: [UInt8]) -> Bool {
        let text = message.map { CChar(bitPattern: $0 == 0 ? 0x20 : $0) } + [0]
        return regexec(compiled, text, 0, nil, 0) == 0
    }
}
