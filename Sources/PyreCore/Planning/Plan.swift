import Foundation

/// Why a server has to be replaced.
public enum ReplaceReason: Sendable, Equatable, CustomStringConvertible {
    case imageChanged(from: ImageDigest, to: ImageDigest)
    case configChanged([ConfigChange])
    case tooOld(maxAge: Duration)
    case exited(status: Int32)
    case failingHealth
    /// Its files no longer match its image's digest (`pyre verify`).
    case drifted

    /// Dead or failing servers serve nothing: they are destroyed at once, without draining.
    public var isDead: Bool {
        switch self {
        case .exited, .failingHealth: true
        case .imageChanged, .configChanged, .tooOld, .drifted: false
        }
    }

    public var description: String {
        switch self {
        case let .imageChanged(from, to): "image sha256:\(from.short)… → sha256:\(to.short)…"
        case let .configChanged(changes):
            changes.isEmpty ? "config changed" : "config changed: " + changes.map(\.description).joined(separator: ", ")
        case let .tooOld(maxAge): "older than max_age (\(maxAgeText(maxAge)))"
        case let .exited(status): Self.death(status)
        case .failingHealth: "failing health"
        case .drifted: "drifted from its image"
        }
    }
}

extension ReplaceReason {
    /// How a server's process ended, as its exit status says: 128 + N is signal N.
    static func death(_ status: Int32) -> String {
        switch status {
        case -1: "exited (its status is unknown: it was not this agent's child)"
        case 129 ... 159:
            "killed by signal \(status - 128)" + (signalNames[Int(status - 128)].map { " (\($0))" } ?? "")
        default: "exited with status \(status)"
        }
    }

    private static let signalNames: [Int: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
        11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
    ]

    /// Whether a destroy reason says the server died (exited, was killed, failed health).
    public static func isDeath(_ reason: String) -> Bool {
        reason.hasPrefix("exited") || reason.hasPrefix("killed by signal") || reason == "failing health"
    }
}

/// What a deploy does to one service.
public struct ServicePlan: Sendable, Equatable {
    public struct Replacement: Sendable, Equatable {
        public var id: ServerID
        public var reason: ReplaceReason

        public init(id: ServerID, reason: ReplaceReason) {
            self.id = id
            self.reason = reason
        }
    }

    public var service: String
    /// Servers the service has once the plan ran (0 for a service no longer declared).
    public var count: Int
    /// Up-to-date servers that stay.
    public var keep: [ServerID]
    /// Servers that go because they are stale, dead or failing.
    public var replace: [Replacement]
    /// New servers to create in total: `keep.count + create == count`.
    public var create: Int
    /// Up-to-date servers beyond `count`, or every server of a service no longer declared.
    public var destroyExtra: [ServerID]
    /// The image most of the current servers run, if any.
    public var oldImage: ImageDigest?
    /// The image new servers get; nil when the service is no longer declared.
    public var newImage: ImageDigest?
    /// Whether the new image is a host-OS one (the app's files on the host's operating
    /// system, not a whole server): the plan says so.
    public var onHostOS = false
    /// Servers running now (kept, replaced and extra).
    public var currentCount: Int { keep.count + replace.count + destroyExtra.count }

    /// Why the servers of a removal go.
    public var removalReason = ServicePlan.undeclared
    public static let undeclared = "service no longer declared"

    public var isEmpty: Bool { replace.isEmpty && create == 0 && destroyExtra.isEmpty }
    public var isRemoval: Bool { newImage == nil }

    public init(service: String, count: Int, keep: [ServerID] = [], replace: [Replacement] = [], create: Int = 0,
                destroyExtra: [ServerID] = [], oldImage: ImageDigest? = nil, newImage: ImageDigest?) {
        self.service = service
        self.count = count
        self.keep = keep
        self.replace = replace
        self.create = create
        self.destroyExtra = destroyExtra
        self.oldImage = oldImage
        self.newImage = newImage
    }

    /// One line per change, for people.
    public func render() -> String {
        if isRemoval {
            return "\(service): destroy \(destroyExtra.count) (\(removalReason))"
        }
        let noun = count == 1 ? "server" : "servers"
        var lines = ["\(service): \(count) \(noun)" + (onHostOS ? " (host OS)" : "") + (isEmpty ? ", up to date" : "")]
        lines += replace.map { "  replace \($0.id) (\($0.reason))" }
        if create > 0 { lines.append("  create \(create)") }
        if !destroyExtra.isEmpty {
            lines.append("  destroy \(destroyExtra.count) (count \(currentCount - replace.count) → \(count))")
        }
        return lines.joined(separator: "\n")
    }
}

/// What a deploy does: per service, desired vs what runs.
public struct Plan: Sendable, Equatable {
    /// Declared services in manifest order, then services no longer declared.
    public var services: [ServicePlan]

    public init(services: [ServicePlan]) { self.services = services }

    public var isEmpty: Bool { services.allSatisfy(\.isEmpty) }

    public func service(_ name: String) -> ServicePlan? { services.first { $0.service == name } }

    /// A human diff, one block per service.
    public func render() -> String {
        services.map { $0.render() }.joined(separator: "\n")
    }
}

/// `24h`, `90s`, `1500ms`: the largest unit that represents the duration exactly.
private func maxAgeText(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    if attoseconds != 0 || seconds == 0 {
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return "\(milliseconds)ms"
    }
    if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
    if seconds % 60 == 0 { return "\(seconds / 60)m" }
    return "\(seconds)s"
}
