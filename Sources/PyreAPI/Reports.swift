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
    public struct Server: Codable, Sendable, Equatable {
        public var id: String
        public var generation: Int
        public var image: String
        public var address: String
        public var port: Int
        public var health: ServerHealth
        public var published: Bool
        public var createdAt: Date

        public init(id: String, generation: Int, image: String, address: String, port: Int, health: ServerHealth,
                    published: Bool, createdAt: Date) {
            self.id = id
            self.generation = generation
            self.image = image
            self.address = address
            self.port = port
            self.health = health
            self.published = published
            self.createdAt = createdAt
        }

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
        /// The declared image is a host-OS one (no `base:`): its servers run on the host's
        /// operating system.
        public var onHostOS: Bool
        public var servers: [Server]
        /// The last of its servers that died and how: "web-2-8f2c killed by signal 9 (SIGKILL)".
        public var lastDeath: String?

        public init(name: String, count: Int, image: String?, crashLooping: Bool, onHostOS: Bool = false, servers: [Server],
                    lastDeath: String? = nil) {
            self.name = name
            self.count = count
            self.image = image
            self.crashLooping = crashLooping
            self.onHostOS = onHostOS
            self.servers = servers
            self.lastDeath = lastDeath
        }

        enum CodingKeys: String, CodingKey {
            case name, count, image, servers
            case crashLooping = "crash_looping", onHostOS = "on_host_os", lastDeath = "last_death"
        }
    }

    public var system: String
    public var isolation: String
    public var runningDeployment: Int?
    public var services: [Service]

    public init(system: String, isolation: String, runningDeployment: Int?, services: [Service]) {
        self.system = system
        self.isolation = isolation
        self.runningDeployment = runningDeployment
        self.services = services
    }

    enum CodingKeys: String, CodingKey {
        case system, isolation, services
        case runningDeployment = "running_deployment"
    }
}

/// `POST /v1/plan`.
public struct PlanReport: Codable, Sendable {
    public var changes: Bool
    public var text: String

    public init(changes: Bool, text: String) {
        self.changes = changes
        self.text = text
    }
}

/// `GET /v1/dns`: the system's zone as its DNS server serves it now.
public struct DNSReport: Codable, Sendable {
    /// Where servers and the host query it (`HOST:PORT`).
    public var address: String
    /// `dns: listen:`, where the host also asks; nil when not declared.
    public var listen: String?
    /// RFC 1035 master-file text.
    public var zone: String

    public init(address: String, listen: String?, zone: String) {
        self.address = address
        self.listen = listen
        self.zone = zone
    }
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

        public init(server: String, image: String, expected: String, actual: String) {
            self.server = server
            self.image = image
            self.expected = expected
            self.actual = actual
        }
    }

    public var checked: Int
    public var drifted: [Finding]
    /// With `--replace`: whether the drifted servers were replaced successfully.
    public var replaced: Bool

    public init(checked: Int, drifted: [Finding], replaced: Bool) {
        self.checked = checked
        self.drifted = drifted
        self.replaced = replaced
    }
}

/// Every error answer of both APIs: a code and a message that says what to do.
public struct ErrorBody: Codable, Sendable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// `POST /v1/images/gc`: what `pyre image gc` removed and kept.
public struct ImageGCReport: Codable, Sendable, Equatable {
    public struct Layer: Codable, Sendable, Equatable {
        /// The layer's key (a digest).
        public var key: String
        public var description: String
        public var bytes: Int64

        public init(key: String, description: String, bytes: Int64) {
            self.key = key
            self.description = description
            self.bytes = bytes
        }
    }

    /// How many past deployments' images were kept.
    public var keptDeployments: Int
    /// Digests of the images left in the store: those live servers, the declared services or
    /// those deployments use.
    public var inUse: [String]
    public var removedImages: [String]
    /// Bytes removing the images freed (files the layer cache still links are not freed).
    public var imageBytesFreed: Int64
    public var removedLayers: [Layer]
    public var layerBytesFreed: Int64
    /// Image stores registered in the layer cache that are gone (their registrations are dropped).
    public var droppedStores: [String]
    /// Layers left in the machine's cache.
    public var keptLayers: Int

    public init(keptDeployments: Int, inUse: [String], removedImages: [String], imageBytesFreed: Int64, removedLayers: [Layer],
                layerBytesFreed: Int64, droppedStores: [String], keptLayers: Int) {
        self.keptDeployments = keptDeployments
        self.inUse = inUse
        self.removedImages = removedImages
        self.imageBytesFreed = imageBytesFreed
        self.removedLayers = removedLayers
        self.layerBytesFreed = layerBytesFreed
        self.droppedStores = droppedStores
        self.keptLayers = keptLayers
    }

    enum CodingKeys: String, CodingKey {
        case keptDeployments = "kept_deployments"
        case inUse = "in_use"
        case removedImages = "removed_images"
        case imageBytesFreed = "image_bytes_freed"
        case removedLayers = "removed_layers"
        case layerBytesFreed = "layer_bytes_freed"
        case droppedStores = "dropped_stores"
        case keptLayers = "kept_layers"
    }
}

/// `POST /v1/ui/login-codes`: a code good for one login within `expires_in` seconds, at
/// `http://SITE:PORT/ui/login?code=CODE` (the session belongs to that host name).
public struct LoginCode: Codable, Sendable {
    public var code: String
    public var site: String
    public var expiresIn: Int

    public init(code: String, site: String, expiresIn: Int) {
        self.code = code
        self.site = site
        self.expiresIn = expiresIn
    }

    /// The login URL on the agent whose control API is at `controlURL` (`http://127.0.0.1:PORT`).
    public func url(controlURL: String) -> String {
        let port = URLComponents(string: controlURL)?.port.map { ":\($0)" } ?? ""
        return "http://\(site)\(port)" + DashboardRoutes.login.request(query: [("code", code)]).path
    }

    enum CodingKeys: String, CodingKey {
        case code, site
        case expiresIn = "expires_in"
    }
}
