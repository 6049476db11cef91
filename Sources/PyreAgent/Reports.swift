import Foundation
import PyreCore

/// A server's health as `status` reports it, spelled in JSON as its raw value.
public enum ServerHealth: String, Codable, Sendable {
    /// Its last check passed (or, before the first check of this agent, the journal says so).
    case healthy
    /// Its last check failed.
    case unhealthy
    /// Not checked healthy yet.
    case starting
    /// Its process ended.
    case exited
}

/// `GET /v1/status`: the system's services and their servers.
public struct StatusReport: Codable, Sendable {
    public struct Server: Codable, Sendable {
        public var id: String
        public var generation: Int
        public var image: String
        public var address: String
        public var port: Int
        public var health: ServerHealth
        public var published: Bool
        public var createdAt: Date

        enum CodingKeys: String, CodingKey {
            case id, generation, image, address, port, health, published
            case createdAt = "created_at"
        }
    }

    public struct Service: Codable, Sendable {
        public var name: String
        public var count: Int
        public var image: String?
        public var crashLooping: Bool
        public var servers: [Server]

        enum CodingKeys: String, CodingKey {
            case name, count, image, servers
            case crashLooping = "crash_looping"
        }
    }

    public var system: String
    public var isolation: String
    public var runningDeployment: Int?
    public var services: [Service]

    enum CodingKeys: String, CodingKey {
        case system, isolation, services
        case runningDeployment = "running_deployment"
    }
}

/// `POST /v1/plan`.
public struct PlanReport: Codable, Sendable {
    public var changes: Bool
    public var text: String
}

/// `GET /v1/dns`: the system's zone as its DNS server serves it now.
public struct DNSReport: Codable, Sendable {
    /// Where servers and the host query it (`HOST:PORT`).
    public var address: String
    /// `dns: listen:`, where the host also asks; nil when not declared.
    public var listen: String?
    /// RFC 1035 master-file text.
    public var zone: String
}

/// `POST /v1/verify`: servers whose image view no longer matches their image.
public struct VerifyReport: Codable, Sendable {
    public struct Finding: Codable, Sendable {
        public var server: String
        /// The image digest (of its inputs), as `status` shows it.
        public var image: String
        /// Digests of the image's files: as baked, and as the server sees them now.
        public var expected: String
        public var actual: String
    }

    public var checked: Int
    public var drifted: [Finding]
    /// With `--replace`: whether the drifted servers were replaced successfully.
    public var replaced: Bool
}

/// Dates in Pyre's JSON: ISO 8601 in UTC with milliseconds, so durations survive the trip.
private let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

extension JSONEncoder {
    /// The encoding every Pyre JSON output uses.
    public static var pyre: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(timestampStyle))
        }
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

extension JSONDecoder {
    public static var pyre: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = (try? timestampStyle.parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text)) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
        }
        return decoder
    }
}
