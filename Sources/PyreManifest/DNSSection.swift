import Glibc
import PyreCore

/// `dns:` — listen address, TTL and static records of the system's zone.
enum DNSSection {
    static let keys = ["listen", "ttl", "records"]
    static let recordKeys = ["name", "type", "value", "ttl"]

    /// `services` are the system's service names: the zone's names for them are Pyre's.
    static func read(_ value: ManifestValue, zone: String, services: [String]) throws -> DNSSpec {
        let dns = try value.mapping(expecting: "a mapping such as { ttl: 5s, records: [...] }", allowedKeys: keys)
        var spec = DNSSpec()
        if let listen = dns.optional("listen") { spec.listen = try ListenAddress.read(listen) }
        if let ttl = dns.optional("ttl") { spec.ttl = try readTTL(ttl) }
        if let records = dns.optional("records") {
            spec.records = try readRecords(records, zone: zone, services: services)
        }
        return spec
    }

    private static func readRecords(_ value: ManifestValue, zone: String, services: [String]) throws -> [StaticDNSRecord] {
        guard case .sequence(let items) = value.node else {
            throw value.error("expected a list of records such as - { name: db, type: A, value: 10.0.0.5 }, "
                + "got \(value.shortDescription)")
        }
        return try items.enumerated().map { index, item in
            let entry = ManifestValue(node: item, field: "\(value.field)[\(index)]", file: value.file)
            let record = try entry.mapping(expecting: "a record with name:, type: and value:", allowedKeys: recordKeys)
            let nameValue = try record.required("name")
            let name = try ownerName(nameValue, zone: zone)
            if let owner = ReservedDNSNames.owner(of: name, zone: zone, services: services) {
                throw nameValue.error("\(name) is \(owner), which Pyre publishes itself; a record of the same name "
                    + "would be merged with Pyre's and give clients a wrong answer: choose another name")
            }
            let typeValue = try record.required("type")
            let type = try typeValue.string(expecting: "a record type").uppercased()
            guard StaticDNSValue.typeNames.contains(type) else {
                throw typeValue.error("unsupported record type \"\(type)\"; use one of: \(StaticDNSValue.typeNames.joined(separator: ", "))")
            }
            let data = try readData(record.required("value"), type: type, zone: zone)
            let ttl = try record.optional("ttl").map(readTTL)
            return StaticDNSRecord(name: name, ttl: ttl, value: data)
        }
    }

    private static func readTTL(_ value: ManifestValue) throws -> Duration {
        let ttl = try value.duration(name: "ttl")
        guard ttl >= .seconds(1), ttl <= .seconds(Int64(Int32.max)) else {
            throw value.error("ttl must be between 1s and 68 years (DNS counts whole seconds)")
        }
        return ttl
    }

    /// `@` is the apex; a name without a trailing dot is relative to the zone.
    private static func ownerName(_ value: ManifestValue, zone: String) throws -> String {
        let text = try value.string(expecting: "a name such as db, _ldap._tcp or @ for the zone itself")
        guard let name = absolute(text, zone: zone) else {
            throw value.error("invalid name \"\(text)\"; use labels of letters, digits, hyphens and underscores, "
                + "relative to the zone (db) or absolute inside it (db.\(zone))")
        }
        guard name == zone || name.hasSuffix("." + zone) else {
            throw value.error("\(name) is outside the zone \(zone); the DNS server answers only for its own zone")
        }
        return name
    }

    private static func readData(_ value: ManifestValue, type: String, zone: String) throws -> StaticDNSValue {
        switch type {
        case "A":
            let text = try value.string(expecting: "an IPv4 address")
            guard isAddress(text, family: AF_INET) else { throw value.error("\"\(text)\" is not an IPv4 address, e.g. 10.0.0.5") }
            return .a(text)
        case "AAAA":
            let text = try value.string(expecting: "an IPv6 address")
            guard isAddress(text, family: AF_INET6) else { throw value.error("\"\(text)\" is not an IPv6 address, e.g. fd00::5") }
            return .aaaa(text)
        case "CNAME":
            return .cname(try target(value, text: try value.string(expecting: "a name"), zone: zone))
        case "TXT":
            let strings = try value.stringList(expecting: "a string or a list of strings") { text in
                try txtStrings(text, value: value)
            }
            if let long = strings.first(where: { $0.utf8.count > 255 }) {
                throw value.error("each TXT string holds at most 255 bytes, one has \(long.utf8.count); split it into a list")
            }
            return .txt(strings)
        case "SRV":
            let parts = try value.string(expecting: "\"PRIORITY WEIGHT PORT TARGET\"").split(separator: " ").map(String.init)
            guard parts.count == 4, let priority = UInt16(parts[0]), let weight = UInt16(parts[1]), let port = UInt16(parts[2]) else {
                throw value.error("SRV value must be \"PRIORITY WEIGHT PORT TARGET\", e.g. \"10 5 389 ldap.example.com.\"")
            }
            return .srv(priority: priority, weight: weight, port: port, target: try target(value, text: parts[3], zone: zone))
        default:  // MX
            let parts = try value.string(expecting: "\"PREFERENCE EXCHANGE\"").split(separator: " ").map(String.init)
            guard parts.count == 2, let preference = UInt16(parts[0]) else {
                throw value.error("MX value must be \"PREFERENCE EXCHANGE\", e.g. \"10 mail.example.com.\"")
            }
            return .mx(preference: preference, exchange: try target(value, text: parts[1], zone: zone))
        }
    }

    /// One string as it is, or zone-file character-strings (`"a" "b"`) as the strings they are.
    private static func txtStrings(_ text: String, value: ManifestValue) throws -> [String] {
        guard text.hasPrefix("\"") else { return [text] }
        guard let strings = CharacterStrings.parseQuoted(text) else {
            throw value.error("TXT value \(text) starts with a quote but is not a sequence of quoted strings; "
                + "write \"a\" \"b\" (escape quotes inside with \\\"), or give a list: [a, b]")
        }
        return strings
    }

    private static func target(_ value: ManifestValue, text: String, zone: String) throws -> String {
        guard let name = absolute(text, zone: zone) else {
            throw value.error("invalid target name \"\(text)\"; end names outside the zone with a dot, e.g. mail.example.com.")
        }
        return name
    }

    /// The absolute lowercase form of `text` (relative to `zone` unless it ends with a dot).
    static func absolute(_ text: String, zone: String) -> String? {
        if text == "@" { return zone }
        let full = text.hasSuffix(".") ? text : "\(text).\(zone)"
        let labels = full.dropLast().lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard full.utf8.count <= 254, !labels.isEmpty else { return nil }
        let valid = labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
            }
        }
        return valid ? labels.joined(separator: ".") + "." : nil
    }

    private static func isAddress(_ text: String, family: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(family, text, &buffer) == 1
    }
}
