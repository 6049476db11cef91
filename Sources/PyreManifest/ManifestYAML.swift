import PyreCore
import Yams

/// Turns manifest text into a Yams node tree, translating YAML errors into ``PyreError``s
/// that carry the file, line and column.
enum ManifestYAML {
    static func compose(_ yaml: String, file: String) throws -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            throw DuplicateKeys.error(in: yaml, file: file, key: duplicates.first ?? "",
                                      first: TextPosition(context.mark))
        } catch let error as YamlError {
            throw syntaxError(error, yaml: yaml, file: file)
        }
    }

    private static func syntaxError(_ error: YamlError, yaml: String, file: String) -> PyreError {
        func located(_ problem: String, _ context: YamlError.Context?, _ position: TextPosition) -> PyreError {
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) from line \(context.mark.line))" }
            if position.character(in: yaml) == "\t" {
                message += "; YAML does not allow tabs for indentation, use spaces"
            }
            return PyreError(.manifest, message, location: position.location(in: file))
        }
        switch error {
        case let .composer(_, "but found another document", mark, _):
            return located("found a second document; a manifest is one document, remove the --- line", nil,
                           TextPosition(mark))
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return located(problem, context, TextPosition(mark))
        case let .reader(problem, offset, _, _):
            let position = offset.map { TextPosition(characterOffset: $0, in: yaml) } ?? .start
            return located(problem + "; delete the invisible character at this position", nil, position)
        default:
            return PyreError(.manifest, "invalid YAML: \(error)", location: SourceLocation(file: file, line: 1, column: 1))
        }
    }
}
