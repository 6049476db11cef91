import PyreCore

/// `env:` of images and services.
enum EnvironmentSection {
    static func read(_ value: ManifestValue) throws -> [String: String] {
        let mapping = try value.mapping(expecting: "a mapping of variable names to values, e.g. { GREETING: hello }")
        var env: [String: String] = [:]
        for entry in mapping.entries {
            guard ManifestNames.isEnvironmentName(entry.name) else {
                throw entry.key.error("\"\(entry.name)\" is not a valid environment variable name: "
                                      + "use letters, digits and underscores, not starting with a digit")
            }
            if entry.value.isNull {
                throw entry.value.error("\(entry.name) has no value; write \"\" for an empty one")
            }
            env[entry.name] = try entry.value.string(expecting: "a string, number or boolean")
        }
        return env
    }
}
