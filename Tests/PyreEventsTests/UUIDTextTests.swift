import Foundation
import Testing
@testable import PyreEvents

@Suite("UUID text")
struct UUIDTextTests {
    @Test func formatsAsFoundationDoesInLowercaseAndParsesBack() {
        for _ in 0..<1_000 {
            let id = UUID()
            let text = UUIDText.format(id)
            #expect(text == id.uuidString.lowercased())
            #expect(UUIDText.parse(text) == id)
            #expect(UUIDText.parse(text.uppercased()) == id)
            #expect(withUnsafeBytes(of: UUIDText.bytes(id)) { String(decoding: $0, as: UTF8.self) } == text)
            #expect(isFormatted(text))
            #expect(!isFormatted(text.uppercased()) || !text.contains(where: \.isLetter))
        }
    }

    private func isFormatted(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { UUIDText.isFormatted(utf8: $0) }
    }

    @Test(arguments: ["", "not-a-uuid", "0123456789abcdef0123456789abcdef0123",
                      "01234567-89ab-cdef-0123-456789abcdeg", "01234567x89ab-cdef-0123-456789abcdef",
                      "01234567-89ab-cdef-0123-456789abcdef0",
                      // One character just outside each range of digits and letters, in each group.
                      "/1234567-89ab-cdef-0123-456789abcdef", "01234567-:9ab-cdef-0123-456789abcdef",
                      "01234567-89ab-cdeG-0123-456789abcdef", "01234567-89ab-cdef-0@23-456789abcdef",
                      "01234567-89ab-cdef-0123-45678`abcdef", "01234567-89ab-cdef-0123-456789abcdé",
                      "01234567-89ab-cdef-0123-4567 9abcdef"])
    func refusesMalformedText(_ text: String) {
        #expect(UUIDText.parse(text) == nil)
        #expect(!isFormatted(text))
    }
}
