import Foundation

/// A deployment generation of a service: every rollout that creates servers uses a new one.
public typealias Generation = Int

/// Identity of one server: `SERVICE-GEN-XXXX`, never reused.
public struct ServerID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A fresh id for a server of `service` in `generation`, with a 4-hex-digit random suffix.
    public static func make(service: String, generation: Generation) -> ServerID {
        let suffix = String(UInt16.random(in: .min ... .max), radix: 16)
        let padded = String(repeating: "0", count: 4 - suffix.count) + suffix
        return ServerID("\(service)-\(generation)-\(padded)")
    }

    public var description: String { rawValue }
    public static func < (lhs: ServerID, rhs: ServerID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Content address of an image: `sha256:` followed by 64 lowercase hex digits.
public struct ImageDigest: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// `sha256:` plus the hex of `bytes`.
    public init(sha256 bytes: some Sequence<UInt8>) {
        rawValue = "sha256:" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The first 12 hex digits, for people.
    public var short: String {
        let hex = rawValue.hasPrefix("sha256:") ? rawValue.dropFirst(7) : Substring(rawValue)
        return String(hex.prefix(12))
    }

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
