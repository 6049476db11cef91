import Testing
@testable import PyreLogs

@Suite struct MessageMatcherTests {
    @Test(arguments: [
        ("timeout after [0-9]{4}ms", "timeout after "),
        ("^foo.*bar$", "foo"),
        ("(optional)?required", "required"),
        ("colou?r", "colo"),
        ("ab+c", "ab"),
        (#"x\.y"#, "x.y"),
        ("[abc]+def", "def"),
        ("[]x]yz", "yz"),
        ("error|warning", ""),
        // Alternation anywhere gives up: conservative, never wrong.
        ("(a|b)c", ""),
        ("a*", ""),
    ])
    func requiredLiteral(pattern: String, literal: String) {
        #expect(MessageMatcher.requiredLiteral(of: pattern) == literal)
    }

    /// The literal shortcut never changes what matches.
    @Test func matchesAsTheExpressionDoes() throws {
        let messages = ["timeout after 1234ms", "timeout after 12ms", "a timeout after 99999ms!", "colour", "color", "colr",
                        "x.y", "xzy", "bbdef", "def", "no match here"]
        let cases: [(String, [String])] = [
            ("timeout after [0-9]{4}ms", ["timeout after 1234ms"]),
            ("after [0-9]+ms", ["timeout after 1234ms", "timeout after 12ms", "a timeout after 99999ms!"]),
            ("colou?r", ["colour", "color"]),
            (#"x\.y"#, ["x.y"]),
            ("[abc]+def", ["bbdef"]),
            ("^(def|color)$", ["color", "def"]),
        ]
        for (pattern, expected) in cases {
            let matcher = try MessageMatcher(pattern)
            let matched = messages.filter { message in Array(message.utf8).withUnsafeBytes { matcher.matches($0) } }
            #expect(matched == expected, "\(pattern)")
        }
    }
}
