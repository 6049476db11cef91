import PyreCore
import Yams

/// A 1-based line and column (in Unicode scalars, as libyaml counts them).
struct TextPosition: Hashable, Comparable {
    var line: Int
    var column: Int

    static let start = TextPosition(line: 1, column: 1)

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// Yams' marks already count from 1.
    init(_ mark: Mark) {
        self.init(line: mark.line, column: mark.column)
    }

    init(characterOffset offset: Int, in text: String) {
        let lines = text.prefix(offset).split(separator: "\n", omittingEmptySubsequences: false)
        self.init(line: lines.count, column: (lines.last?.unicodeScalars.count ?? 0) + 1)
    }

    func location(in file: String) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    func character(in text: String) -> Unicode.Scalar? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        let scalars = Array(lines[line - 1].unicodeScalars)
        return column >= 1 && column <= scalars.count ? scalars[column - 1] : nil
    }

    static func < (lhs: TextPosition, rhs: TextPosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}
