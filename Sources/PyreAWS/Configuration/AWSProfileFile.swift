import Foundation

/// The INI form of `~/.aws/credentials` and `~/.aws/config`: `[section]` headers, `key = value`
/// lines, `#` and `;` comments. Indented lines belong to a nested block (`s3 =` followed by
/// its settings), which Pyre has no use for, so they are skipped.
struct AWSProfileFile {
    private(set) var sections: [String: [String: String]] = [:]

    init(parsing text: String) {
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            if rawLine.first == " " || rawLine.first == "\t" { continue }
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                if sections[name] == nil { sections[name] = [:] }
            } else if let current, let equals = line.firstIndex(of: "=") {
                let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                sections[current]?[key] = value
            }
        }
    }

    /// A profile's settings from the credentials file, where sections are bare names.
    func credentialsProfile(_ name: String) -> [String: String]? {
        sections[name]
    }

    /// A profile's settings from the config file: `[profile NAME]`, or `[default]` for the
    /// default profile (whose `[profile default]` form wins when both exist, as in the CLI).
    func configProfile(_ name: String) -> [String: String]? {
        if let profile = sections.first(where: { Self.profileName(ofSection: $0.key) == name }) {
            return profile.value
        }
        return name == "default" ? sections["default"] : nil
    }

    private static func profileName(ofSection section: String) -> String? {
        let parts = section.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == "profile" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
