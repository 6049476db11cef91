import PyreCore

/// TXT values written as in a zone file: `"v=spf1 -all" "second"` is two character-strings.
enum CharacterStrings {
    /// The strings of `text` when it is a sequence of quoted strings (with `\"` and `\\`
    /// escapes) separated by spaces; nil when it is not.
    static func parseQuoted(_ text: String) -> [String]? {
        var strings: [String] = []
        var characters = text.makeIterator()
        while let next = characters.next() {
            if next == " " || next == "\t" { continue }
            guard next == "\"" else { return nil }
            var string = ""
            var closed = false
            while let character = characters.next() {
                if character == "\"" { closed = true; break }
                if character == "\\" {
                    guard let escaped = characters.next() else { return nil }
                    string.append(escaped)
                } else {
                    string.append(character)
                }
            }
            guard closed else { return nil }
            strings.append(string)
        }
        return strings.isEmpty ? nil : strings
    }
}
