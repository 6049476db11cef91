import Foundation
import PyreCore
import Yams

/// Reads `pyre.yml` into a validated ``SystemSpec``. Every problem is a ``PyreError`` with
/// code `.manifest`, the file, line and column, the dotted field and a message that says how
/// to fix it.
public enum Manifest {
    /// The manifest's file name inside a system directory.
    public static let fileName = "pyre.yml"

    /// Reads and validates `pyre.yml` (or the given file). `file` in errors is the path as given.
    public static func load(file: URL) throws -> SystemSpec {
        try read(file: file).spec
    }

    /// As ``load(file:)``, with the text it parsed (what a release records).
    public static func read(file: URL) throws -> (spec: SystemSpec, text: String) {
        let path = file.relativePath
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            var isDirectory: ObjCBool = false
            let reason = if !FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) {
                "the file does not exist; create it or pass the path of your manifest"
            } else if isDirectory.boolValue {
                "it is a directory; pass the path of the manifest file inside it"
            } else {
                "it is not readable UTF-8 text; save it as UTF-8"
            }
            throw PyreError(.manifest, "cannot read \(path): \(reason)")
        }
        return (try parse(text, file: path, directory: file.deletingLastPathComponent()), text)
    }

    /// Loads DIR/pyre.yml.
    public static func load(directory: URL) throws -> SystemSpec {
        try load(file: directory.appendingPathComponent(fileName))
    }

    /// Parses YAML text; `file` is used in error locations, `directory` resolves relative contexts.
    public static func parse(_ yaml: String, file: String, directory: URL) throws -> SystemSpec {
        let directory = directory.absoluteURL.standardizedFileURL
        guard let root = try ManifestYAML.compose(yaml, file: file) else {
            throw PyreError(.manifest, "the manifest is empty; it needs at least system:, images: and services:",
                            location: SourceLocation(file: file, line: 1, column: 1))
        }
        let top = try ManifestValue(node: root, field: "", file: file)
            .mapping(expecting: "a mapping with system:, images: and services:", allowedKeys: topLevelKeys)

        let name = try SectionName.read(top.required("system"), kind: "system")
        let provider = try top.optional("provider").map(readProvider) ?? .local
        let aws = try top.optional("aws").map { try AWSSection.read($0, directory: directory) } ?? AWSSpec()
        let zone = try top.optional("zone").map(readZone)
        let images = try ImageSection.read(top.required("images"), directory: directory)
        let services = try ServiceSection.read(top.required("services"), images: images)
        let entrypoints = try top.optional("entrypoints").map { try EntrypointSection.read($0, services: services) } ?? []
        let dns = try top.optional("dns").map {
            try DNSSection.read($0, zone: zone ?? "\(name).pyre.", services: services.map(\.name))
        } ?? DNSSpec()
        let events = try top.optional("events").map(EventsSection.read) ?? EventsSpec()
        let logs = try top.optional("logs").map { try LogsSection.read($0, directory: directory) } ?? LogsSpec()
        var spec = SystemSpec(name: name, provider: provider, aws: aws, zone: zone, images: images, services: services,
                              entrypoints: entrypoints, dns: dns, events: events, logs: logs, directory: directory)
        spec.fieldLocations = try ListenAddress.check(top)
        if let store = try top.optional("events").flatMap({ try $0.mapping().optional("store") }) {
            spec.fieldLocations[store.field] = store.location
        }
        // Whether a whole-server image can run depends on the isolation the agent runs with.
        for entry in try top.required("images").mapping().entries {
            if let base = try entry.value.mapping().optional("base") { spec.fieldLocations[base.field] = base.location }
        }
        return spec
    }

    private static let topLevelKeys = ["system", "provider", "aws", "zone", "images", "services", "entrypoints", "dns", "events", "logs"]

    private static func readProvider(_ value: ManifestValue) throws -> ProviderKind {
        let text = try value.string(expecting: "a provider name")
        guard let provider = ProviderKind(rawValue: text) else {
            let names = ProviderKind.allCases.map(\.rawValue)
            let hint = didYouMean(text, among: names) ?? "use one of: \(names.joined(separator: ", "))"
            throw value.error("unknown provider \"\(text)\"; \(hint)")
        }
        return provider
    }

    private static func readZone(_ value: ManifestValue) throws -> String {
        let text = try value.string(expecting: "a DNS name such as guestbook.pyre.")
        guard let zone = ManifestNames.absoluteDNSName(text) else {
            throw value.error("\"\(text)\" is not a valid DNS name: use dot-separated labels of 1-63 letters, "
                              + "digits and hyphens, not starting or ending with a hyphen, e.g. guestbook.pyre.")
        }
        return zone
    }
}

/// Names of the system and of the entries under images:, services: and entrypoints:.
enum SectionName {
    /// The name in `value` (a key or the `system` value), checked to be a DNS label.
    static func read(_ value: ManifestValue, kind: String) throws -> String {
        let name = try value.string(expecting: "a \(kind) name")
        guard ManifestNames.isDNSLabel(name) else {
            throw value.error("\"\(name)\" is not a valid DNS label: \(ManifestNames.dnsLabelRule)")
        }
        return name
    }
}
