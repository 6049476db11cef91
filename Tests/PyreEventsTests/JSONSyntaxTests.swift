import Foundation
@testable import PyreEvents
import Testing

@Suite("JSON syntax")
struct JSONSyntaxTests {
    static let valid = [
        "{}", "[]", "0", "-0", "1.5", "-0.5E-3", "1e5", "2E+10", "true", "false", "null", #""""#, " \t\r\n[1] ",
        #"{"a":[1,{"b":null}],"c":"\"\\\/\b\f\n\r\t\u00e9"}"#, #""\ud83d\ude00""#, #""é ü 😀""#,
        #"{"writer":3,"number":17,"note":"bench"}"#,
    ]
    static let invalid = [
        "", " ", "{", "[1,2", "01", "1.", "-", ".5", "+1", "1e", "tru", "nul", "[]x", "{} {}", "[1,]", #"{"a":1,}"#,
        #"{"a"}"#, #"{a:1}"#, "'a'", #""abc"#, "\"a\u{01}b\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00""#,
        #""\ud800\u0041""#, "NaN", "[1 2]", #"{"a":1 "b":2}"#,
    ]

    @Test(arguments: valid)
    func acceptsJSON(_ text: String) {
        #expect(JSONSyntax.isValid(Data(text.utf8)))
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil,
                "JSONSerialization agrees")
    }

    @Test(arguments: invalid)
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(!JSONSyntax.isValid(Data(text.utf8)))
    }

    @Test func refusesInvalidUTF8AndTooDeepNesting() {
        #expect(!JSONSyntax.isValid(Data([0x22, 0xC3, 0x28, 0x22])))
        #expect(!JSONSyntax.isValid(Data([0x22, 0xFF, 0x22])))
        let deep = String(repeating: "[", count: JSONSyntax.maximumDepth + 1) + String(repeating: "]", count: JSONSyntax.maximumDepth + 1)
        #expect(!JSONSyntax.isValid(Data(deep.utf8)))
        let allowed = String(repeating: "[", count: JSONSyntax.maximumDepth) + String(repeating: "]", count: JSONSyntax.maximumDepth)
        #expect(JSONSyntax.isValid(Data(allowed.utf8)))
    }
}
