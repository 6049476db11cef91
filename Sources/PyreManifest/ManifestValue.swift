import PyreCore
import Yams

/// One node of the manifest together with where it is: its dotted field path and its
/// position in the file. Every typed read either returns a value or throws an error that
/// points at this node.
struct ManifestValue {
    let node: Node
    /// Dotted path such as `services.web.port`; empty for the document root.
    let field: String
    let file: String

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    func error(_ message: String) -> PyreError {
        PyreError(.manifest, message, location: location, field: field.isEmpty ? nil : field)
    }

    /// The path of a child key or list item.
    func childField(_ key: String) -> String { field.isEmpty ? key : "\(field).\(key)" }

    var isNull: Bool { node.null != nil }

    /// How the node reads in an error message: `"three"`, `a list`, `nothing`.
    var shortDescription: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar, .alias:
            if isNull { return "nothing" }
            return "\"\(node.string ?? "")\""
        }
    }

    /// A scalar's text. Numbers and booleans are read as written, so `env: { A: 1.50 }`
    /// gives "1.50", not "1.5".
    func string(expecting expected: String = "a string") throws -> String {
        guard case .scalar(let scalar) = node, !isNull else {
            throw error("expected \(expected), got \(shortDescription)")
        }
        return scalar.string
    }

    /// The name of something defined under `section:` (an image, a service). `user` says who
    /// refers to it, e.g. `service "web" uses image`, for the error when it is not defined.
    func reference(_ user: String, kind: String, section: String, defined names: [String]) throws -> String {
        let name = try string(expecting: "the name of \(kind) under \(section):")
        guard names.contains(name) else {
            var message = "\(user) \"\(name)\", which is not defined under \(section):; "
            message += names.isEmpty ? "define it there" : "defined \(section): \(names.joined(separator: ", "))"
            throw error(message)
        }
        return name
    }

    func integer() throws -> Int {
        guard case .scalar = node, !isNull, let value = node.int else {
            throw error("expected an integer, got \(shortDescription)")
        }
        return value
    }

    func integer(in range: ClosedRange<Int>, name: String) throws -> Int {
        let value = try integer()
        guard range.contains(value) else {
            if range.upperBound == .max {
                throw error("\(name) must be \(range.lowerBound) or more, got \(value)")
            }
            throw error("\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    func bool() throws -> Bool {
        guard case .scalar = node, let value = node.bool else {
            throw error("expected true or false, got \(shortDescription)")
        }
        return value
    }

    /// A duration such as `500ms` or `24h`; zero only when `allowZero`.
    func duration(name: String, allowZero: Bool = false) throws -> Duration {
        let text = try string(expecting: "a duration such as 500ms, 2s or 24h")
        guard let duration = parseDuration(text) else {
            throw error("invalid duration \"\(text)\"; use a number with ms, s, m or h, e.g. 500ms, 2s, 24h")
        }
        guard allowZero || duration > .zero else {
            throw error("\(name) must be greater than 0, got \"\(text)\"")
        }
        return duration
    }

    /// A mapping whose keys must be among `allowedKeys` (any key when nil).
    func mapping(expecting expected: String = "a mapping", allowedKeys: [String]? = nil) throws -> ManifestMapping {
        guard case .mapping(let mapping) = node else {
            throw error("expected \(expected), got \(shortDescription)")
        }
        var entries: [ManifestMapping.Entry] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                let key = ManifestValue(node: keyNode, field: field, file: file)
                throw key.error("keys must be plain names, got \(key.shortDescription)")
            }
            let name = keyScalar.string
            let key = ManifestValue(node: keyNode, field: childField(name), file: file)
            if let allowedKeys, !allowedKeys.contains(name) {
                let hint = didYouMean(name, among: allowedKeys)
                    ?? "allowed keys: \(allowedKeys.joined(separator: ", "))"
                throw key.error("unknown key \"\(name)\"; \(hint)")
            }
            entries.append(.init(name: name, key: key,
                                 value: ManifestValue(node: valueNode, field: childField(name), file: file)))
        }
        return ManifestMapping(value: self, entries: entries)
    }

    /// Either a list of strings or one string; `single` turns a lone string into the list.
    func stringList(expecting expected: String, single: (String) throws -> [String]) throws -> [String] {
        switch node {
        case .sequence(let sequence):
            return try sequence.enumerated().map { index, item in
                try ManifestValue(node: item, field: "\(field)[\(index)]", file: file).string()
            }
        case .scalar where !isNull:
            return try single(try string())
        default:
            throw error("expected \(expected), got \(shortDescription)")
        }
    }
}

/// A mapping's entries in file order, with lookup by key.
struct ManifestMapping {
    struct Entry {
        let name: String
        /// The key node: where errors about the name point.
        let key: ManifestValue
        let value: ManifestValue
    }

    /// The mapping node itself: where "missing key" errors point.
    let value: ManifestValue
    let entries: [Entry]

    func optional(_ name: String) -> ManifestValue? {
        entries.first { $0.name == name }?.value
    }

    func required(_ name: String) throws -> ManifestValue {
        guard let found = optional(name) else {
            throw PyreError(.manifest, "missing required key \"\(name)\"", location: value.location,
                            field: value.childField(name))
        }
        return found
    }
}
