/// One part of a server's configuration that differs from the manifest's (see
/// ``ServiceSpec/configParts(recipe:zone:)``).
public struct ConfigChange: Sendable, Equatable, CustomStringConvertible {
    /// `run`, `port`, `zone` or `env.KEY`.
    public var key: String
    /// Nil when the part is new or gone. Env values are digests, never shown.
    public var old: String?
    public var new: String?

    public init(key: String, old: String?, new: String?) {
        self.key = key
        self.old = old
        self.new = new
    }

    /// The parts that differ, by key; none when the server's parts were not recorded.
    public static func between(_ running: [String: String]?, _ desired: [String: String]) -> [ConfigChange] {
        guard let running, !desired.isEmpty else { return [] }
        return Set(running.keys).union(desired.keys).sorted().compactMap { key in
            running[key] == desired[key] ? nil : ConfigChange(key: key, old: running[key], new: desired[key])
        }
    }

    /// `port 8080 → 8081`, `env GREETING changed`: the values of env keys stay hidden.
    public var description: String {
        if key.hasPrefix("env.") {
            let name = "env " + key.dropFirst(4)
            return old == nil ? "\(name) added" : new == nil ? "\(name) removed" : "\(name) changed"
        }
        return "\(key) \(old ?? "(none)") → \(new ?? "(none)")"
    }
}
