import Glibc
import PyreCore

/// `listen:` values: where Pyre binds a listener.
enum ListenAddress {
    /// `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`).
    static func read(_ value: ManifestValue) throws -> String {
        let text = try value.string(expecting: "an address such as \"127.0.0.1:8080\"")
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else {
            throw value.error("listen must be HOST:PORT, e.g. \"127.0.0.1:8080\", got \"\(text)\"")
        }
        let host = text[..<colon], portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw value.error("port in listen must be between 1 and 65535, got \"\(portText)\"")
        }
        guard !host.contains(":") || (host.hasPrefix("[") && host.hasSuffix("]")) else {
            throw value.error("put an IPv6 address in brackets, e.g. \"[::1]:\(port)\", got \"\(text)\"")
        }
        return text
    }

    /// Checks the listen addresses together, once every section is read: each must be on
    /// this machine and no two the same. Returns where each was given, by field.
    static func check(_ top: ManifestMapping) throws -> [String: SourceLocation] {
        var values: [ManifestValue] = []
        if let entrypoints = top.optional("entrypoints") {
            for entry in try entrypoints.mapping().entries {
                if let listen = try entry.value.mapping().optional("listen") { values.append(listen) }
            }
        }
        if let dns = top.optional("dns"), let listen = try dns.mapping().optional("listen") { values.append(listen) }
        let local = LocalAddresses.current()
        var taken: [(host: String, port: Substring, field: String)] = []
        var locations: [String: SourceLocation] = [:]
        for value in values {
            let text = try value.string()
            let colon = text.lastIndex(of: ":")!
            let host = String(text[..<colon]).trimmingCharacters(in: ["[", "]"]), port = text[text.index(after: colon)...]
            if let other = taken.first(where: { $0.port == port && ($0.host == host || isWildcard($0.host) || isWildcard(host)) }) {
                throw value.error("\(text) overlaps \(other.field) (\(other.host):\(port)): both would listen on port "
                    + "\(port) there; give each listener its own address or port")
            }
            taken.append((host, port, value.field))
            if !local.mayListen(on: host) {
                throw value.error("\(host) is not an address of this machine, so nothing can listen on \(text); "
                    + "use one of \(local.listed), 0.0.0.0 for all of them, or a loopback address such as 127.0.0.1")
            }
            locations[value.field] = value.location
        }
        return locations
    }

    private static func isWildcard(_ host: String) -> Bool { host == "0.0.0.0" || host == "::" }
}
