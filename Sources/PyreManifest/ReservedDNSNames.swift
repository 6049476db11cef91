import PyreCore

/// The names of a system's zone that Pyre fills itself (see `SystemZone` in PyreAgent).
enum ReservedDNSNames {
    /// The identity and persistent layers' names, and the deployment marker.
    static let fixed = ["dns": "the DNS server's name", "events": "the event store's name",
                        "logs": "the log sink's name", "_deploy": "the current deployment's marker"]

    /// What Pyre publishes at `name` (absolute, lowercase), or nil when the name is free.
    static func owner(of name: String, zone: String, services: [String]) -> String? {
        guard name.hasSuffix("." + zone) else { return nil }
        let relative = String(name.dropLast(zone.count + 1))
        if let owner = fixed[relative] { return owner }
        for service in services {
            if relative == service { return "the name of service \(service)'s healthy servers" }
            if relative == "_\(service)._tcp" { return "service \(service)'s SRV record" }
            if isServerID(relative, of: service) { return "the name of one server of service \(service)" }
        }
        return nil
    }

    /// `SERVICE-GENERATION-SUFFIX`, as `ServerID.make` names servers.
    private static func isServerID(_ label: String, of service: String) -> Bool {
        guard label.hasPrefix(service + "-") else { return false }
        let parts = label.dropFirst(service.count + 1).split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[0].allSatisfy(\.isNumber)
            && !parts[1].isEmpty && parts[1].allSatisfy(\.isHexDigit)
    }
}
