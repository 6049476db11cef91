import Yams

/// Turns manifest text into a Yams node tree, translating YAML errors into ``PyreError``s
/// that carry the file, line and column.
enum ManifestYAML {
    static func compose(_ yaml: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            throw DuplicateKeys.error(in: yaml, file: file, key: duplicates.first ?? "", firstMark: context.mark)
        } catch let error as YamlError {
            throw syntaxError(error, yaml: yaml, file: file)
        }
    }

    private static func syntaxError(_ error: YamlError, yaml: String, file: String) -> PyreError {
        func located(_ problem: String, _ context: YamlError.Context?, _ mark: Mark) -> PyreError {
            var message = "invalid YAML: "
            if let context { message += "\(context.text) at line \(context.mark.line), " }
            message += problem
            if character(at: mark, in: yaml) == "\t" {
                message += "; YAML does not allow tabs for indentation, use spaces"
            }
            return PyreError(.manifest, message, location: SourceLocation(file: file, line: mark.line, column: mark.column))
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return located(problem, context, mark)
        case let .reader(problem, offset, _, _):
            let mark = offset.map { mark(atCharacterOffset: $0, in: yaml) } ?? Mark(line: 1, column: 1)
            return located(problem + "; save the file as UTF-8 text", nil, mark)
        default:
            return PyreError(.manifest, "invalid YAML: \(error)", location: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    private static func character(at mark: Mark, in yaml: String) -> Unicode.Scalar? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let scalars = Array(lines[mark.line - 1].unicodeScalars)
        return mark.column >= 1 && mark.column <= scalars.count ? scalars[mark.column - 1] : nil
    }

    private static func mark(atCharacterOffset offset: Int, in yaml: String) -> Mark {
        let before = yaml.prefix(offset)
        let line = before.count { $0 == "\n" } + 1
        let column = before.split(separator: "\n", omittingEmptySubsequences: false).last.map { $0.unicodeScalars.count } ?? 0
        return Mark(line: line, column: column + 1)
    }
}
