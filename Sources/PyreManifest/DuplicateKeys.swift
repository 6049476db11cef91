import PyreCore
import Yams

/// Reports a duplicate key at its second occurrence, where the mistake usually is.
///
/// Yams refuses mappings with duplicate keys while composing and only reports the first
/// occurrence. To find the others, the first occurrence's key is overwritten in a copy of the
/// text with a private-use character (same length, so no position moves) and the copy is
/// composed again, until it composes; the duplicates are then visible in the tree.
enum DuplicateKeys {
    static func error(in yaml: String, file: String, key: String, first: TextPosition) -> PyreError {
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        var renamed: [TextPosition: String] = [:]
        var next: (key: String, position: TextPosition)? = (key, first)
        // Each round hides one occurrence; a bound keeps pathological input from looping long.
        for round in 0..<1000 {
            guard let (hiddenKey, position) = next else { break }
            guard hideKey(at: position, in: &lines, marker: Unicode.Scalar(0xE000 + UInt32(round))!) else { break }
            renamed[position] = hiddenKey
            let text = lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
            do {
                guard let root = try Yams.compose(yaml: text),
                      let found = secondOccurrence(of: key, first: first, renamed: renamed, in: root, path: "")
                else { break }
                return duplicateError(key: key, first: first, at: found.position, parentField: found.parentField, file: file)
            } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
                next = (duplicates.first ?? "", TextPosition(context.mark))
            } catch {
                break
            }
        }
        // Could not locate the second occurrence: point at the first one instead.
        return PyreError(.manifest, "key \"\(key)\" appears more than once in this mapping; keep only one",
                         location: first.location(in: file))
    }

    private static func duplicateError(key: String, first: TextPosition, at position: TextPosition,
                                       parentField: String, file: String) -> PyreError {
        let kinds = ["images": "image", "services": "service", "entrypoints": "entrypoint"]
        let message = if let kind = kinds[parentField] {
            "duplicate \(kind) \"\(key)\"; the first is at line \(first.line), give each \(kind) its own name"
        } else {
            "duplicate key \"\(key)\"; the first is at line \(first.line), keep only one"
        }
        return PyreError(.manifest, message, location: position.location(in: file),
                         field: parentField.isEmpty ? key : "\(parentField).\(key)")
    }

    /// Overwrites the first character of the key at `position` (after a quote, if quoted).
    private static func hideKey(at position: TextPosition, in lines: inout [[Unicode.Scalar]],
                                marker: Unicode.Scalar) -> Bool {
        guard lines.indices.contains(position.line - 1) else { return false }
        var index = position.column - 1
        let line = lines[position.line - 1]
        guard line.indices.contains(index) else { return false }
        if line[index] == "\"" || line[index] == "'" {
            index += 1
            guard line.indices.contains(index), line[index] != line[index - 1] else { return false }
        }
        lines[position.line - 1][index] = marker
        return true
    }

    /// Finds the mapping that holds the key first reported at `first`, and in it the second
    /// occurrence of `key` (hidden occurrences count under their original name).
    private static func secondOccurrence(of key: String, first: TextPosition, renamed: [TextPosition: String],
                                         in node: Node, path: String) -> (position: TextPosition, parentField: String)? {
        switch node {
        case .mapping(let mapping):
            let positions = mapping.keys.compactMap { $0.mark.map { TextPosition($0) } }
            if positions.contains(first) {
                let occurrences = zip(mapping.keys, positions)
                    .filter { keyNode, position in renamed[position] == key || (renamed[position] == nil && keyNode.string == key) }
                    .map(\.1)
                    .sorted()
                return occurrences.count > 1 ? (occurrences[1], path) : nil
            }
            for (keyNode, value) in mapping {
                let name = keyNode.mark.flatMap { renamed[TextPosition($0)] } ?? keyNode.string ?? ""
                if let found = secondOccurrence(of: key, first: first, renamed: renamed, in: value,
                                                path: path.isEmpty ? name : "\(path).\(name)") {
                    return found
                }
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() {
                if let found = secondOccurrence(of: key, first: first, renamed: renamed, in: item, path: "\(path)[\(index)]") {
                    return found
                }
            }
        case .scalar, .alias:
            break
        }
        return nil
    }
}
