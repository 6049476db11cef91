import Foundation

/// A validated `pyre.yml`: everything Pyre needs to know about one system.
public struct SystemSpec: Sendable, Equatable {
    /// System name, a DNS label.
    public var name: String
    public var provider: ProviderKind
    public var aws: AWSSpec
    /// DNS zone, absolute (`guestbook.pyre.`).
    public var zone: String
    /// Images by name, in manifest order.
    public var images: [ImageRecipe]
    /// Services in manifest order.
    public var services: [ServiceSpec]
    public var entrypoints: [EntrypointSpec]
    public var dns: DNSSpec
    public var events: EventsSpec
    public var logs: LogsSpec
    /// Directory holding the manifest; relative paths in it are resolved against this.
    public var directory: URL
    /// Where fields checked only when used were given in the manifest, by dotted field
    /// (`dns.listen`, `entrypoints.public.listen`, `events.store`): a bind failure or a bad
    /// event store URL points at its line.
    public var fieldLocations: [String: SourceLocation] = [:]

    public init(name: String, provider: ProviderKind = .local, aws: AWSSpec = AWSSpec(), zone: String? = nil,
                images: [ImageRecipe], services: [ServiceSpec], entrypoints: [EntrypointSpec] = [],
                dns: DNSSpec = DNSSpec(), events: EventsSpec = EventsSpec(), logs: LogsSpec = LogsSpec(),
                directory: URL) {
        self.name = name
        self.provider = provider
        self.aws = aws
        self.zone = zone ?? "\(name).pyre."
        self.images = images
        self.services = services
        self.entrypoints = entrypoints
        self.dns = dns
        self.events = events
        self.logs = logs
        self.directory = directory
    }

    public func image(named name: String) -> ImageRecipe? { images.first { $0.name == name } }
    /// The images some service runs, in manifest order: what a deploy bakes.
    public var imagesInUse: [ImageRecipe] { images.filter { recipe in services.contains { $0.image == recipe.name } } }
    public func service(named name: String) -> ServiceSpec? { services.first { $0.name == name } }
}

public enum ProviderKind: String, Sendable, Equatable, Codable, CaseIterable {
    case local, aws
}

/// How to bake one image.
public struct ImageRecipe: Sendable, Equatable, Codable {
    public var name: String
    /// Absolute path of the directory whose files are baked into the image.
    public var context: URL
    /// Shell commands run once, at bake time, in a scratch copy of the context.
    public var build: [String]
    /// The command a server runs (argv).
    public var run: [String]
    /// Environment for build steps and for every server made from this image.
    public var env: [String: String]
    /// Limit for each build step.
    public var buildTimeout: Duration
    /// For the AWS provider: the AMI holding this image, by region.
    public var amis: [String: String]
    /// Who servers of this image run as (`NAME`, `UID`, with an optional `:GROUP`); nil is
    /// the provider's unprivileged default (nobody in namespace mode).
    public var user: String?
    /// What a whole-server image is built on; nil is a host-OS image (the app's files on
    /// the host's operating system).
    public var base: ImageBase?
    /// Where the context goes in a whole-server image, and where its servers start.
    public var workdir: String
    /// Whether build steps of a whole-server image may use the network.
    public var buildNetwork: Bool
    /// The largest each of a whole-server image's servers' /tmp, /var/tmp and /run may grow.
    public var tmpfsBytes: Int
    /// `pyre.lock` next to the manifest: the package versions a `debian:` base installs.
    public var lockFile: URL?

    public var isWholeServer: Bool { base != nil }

    public init(name: String, context: URL, build: [String] = [], run: [String],
                env: [String: String] = [:], buildTimeout: Duration = .seconds(600), amis: [String: String] = [:],
                user: String? = nil, base: ImageBase? = nil, workdir: String = "/app", buildNetwork: Bool = false,
                tmpfsBytes: Int = ImageRecipe.defaultTmpfsBytes, lockFile: URL? = nil) {
        self.name = name
        self.context = context
        self.build = build
        self.run = run
        self.env = env
        self.buildTimeout = buildTimeout
        self.amis = amis
        self.user = user
        self.base = base
        self.workdir = workdir
        self.buildNetwork = buildNetwork
        self.tmpfsBytes = tmpfsBytes
        self.lockFile = lockFile
    }

    /// 64 MiB: room for a server's temporary files, small enough that twenty servers
    /// filling theirs cannot take a small machine's memory.
    public static let defaultTmpfsBytes = 64 << 20
}

/// What a whole-server image is built on.
public enum ImageBase: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A Debian suite made with mmdebstrap (minbase) plus `packages`, from `mirror` (nil:
    /// the machine's configured Debian mirror).
    case debian(suite: String, packages: [String], mirror: String?)
    /// A root filesystem in a tar archive (compressed or not).
    case rootfs(URL)
    /// An OCI image layout directory (its only image, or the one tagged `latest`).
    case oci(URL)

    public var description: String {
        switch self {
        case .debian(let suite, let packages, _): "debian \(suite)" + (packages.isEmpty ? "" : " + \(packages.joined(separator: ", "))")
        case .rootfs(let url): "rootfs \(url.lastPathComponent)"
        case .oci(let url): "oci \(url.lastPathComponent)"
        }
    }
}

public struct ServiceSpec: Sendable, Equatable {
    public var name: String
    /// Name of an image in `SystemSpec.images`.
    public var image: String
    public var count: Int
    public var port: Int
    public var env: [String: String]
    public var health: HealthCheckSpec
    public var strategy: RolloutStrategy
    /// Phoenix: no server of this service lives longer than this.
    public var maxAge: Duration?
    /// How long an unpublished server keeps running so in-flight work finishes.
    public var drain: Duration

    public init(name: String, image: String, count: Int = 1, port: Int = 8080,
                env: [String: String] = [:], health: HealthCheckSpec = HealthCheckSpec(),
                strategy: RolloutStrategy = RolloutStrategy(), maxAge: Duration? = nil,
                drain: Duration = .seconds(1)) {
        self.name = name
        self.image = image
        self.count = count
        self.port = port
        self.env = env
        self.health = health
        self.strategy = strategy
        self.maxAge = maxAge
        self.drain = drain
    }
}

public struct HealthCheckSpec: Sendable, Equatable {
    public enum Probe: Sendable, Equatable {
        /// GET this path; any 2xx within the timeout passes.
        case http(path: String)
        /// A TCP connect passes.
        case tcp
    }

    public var probe: Probe
    public var interval: Duration
    public var timeout: Duration
    /// Consecutive passes needed before a new server counts as healthy.
    public var successes: Int
    /// Consecutive failures after which a live server is replaced.
    public var failures: Int
    /// A new server not healthy within this fails its gate.
    public var deadline: Duration
    /// Set for a service that replays a stream: the gate also waits for the server to catch up.
    public var replay: ReplaySpec?
    /// Set by the agent for one gate probe: the `Pyre-Position` the answer must reach.
    public var requiredPosition: Int64?

    public init(probe: Probe = .tcp, interval: Duration = .milliseconds(500), timeout: Duration = .seconds(2),
                successes: Int = 1, failures: Int = 3, deadline: Duration = .seconds(30)) {
        self.probe = probe
        self.interval = interval
        self.timeout = timeout
        self.successes = successes
        self.failures = failures
        self.deadline = deadline
    }
}

/// An absolute number of servers or a percentage of `count`.
public enum RolloutQuantity: Sendable, Equatable, CustomStringConvertible {
    case absolute(Int)
    case percent(Int)

    /// Resolves against `count`; percentages round up for surge and down for unavailability,
    /// so that a rollout can always make progress and never drops more than asked.
    public func resolve(count: Int, roundingUp: Bool) -> Int {
        switch self {
        case .absolute(let n): return n
        case .percent(let p):
            let scaled = count * p
            return roundingUp ? (scaled + 99) / 100 : scaled / 100
        }
    }

    public var description: String {
        switch self {
        case .absolute(let n): return "\(n)"
        case .percent(let p): return "\(p)%"
        }
    }
}

public struct RolloutStrategy: Sendable, Equatable {
    public var maxSurge: RolloutQuantity
    public var maxUnavailable: RolloutQuantity
    /// New servers created, published beside the old fleet and watched before the rest.
    public var canary: RolloutQuantity
    /// How long the canaries, and then the whole new fleet, must stay healthy.
    public var watch: Duration
    /// A failed canary or watch deploys the previous release again.
    public var autoRollback: Bool
    /// The largest share (0…1) of the new servers' log records at severity error or worse
    /// over a watch, above the old servers' share; nil: log records are not judged.
    public var maxErrorLogs: Double?

    /// Blue/green by default: a whole new fleet next to the old one, none unavailable, after
    /// one canary watched for 10 s; the new fleet is watched as long again.
    public init(maxSurge: RolloutQuantity = .percent(100), maxUnavailable: RolloutQuantity = .absolute(0),
                canary: RolloutQuantity = .absolute(1), watch: Duration = .seconds(10), autoRollback: Bool = true,
                maxErrorLogs: Double? = nil) {
        self.maxSurge = maxSurge
        self.maxUnavailable = maxUnavailable
        self.canary = canary
        self.watch = watch
        self.autoRollback = autoRollback
        self.maxErrorLogs = maxErrorLogs
    }

    /// Surge and unavailability for a service of `count` servers; at least one of them is
    /// positive whenever `count` is, so a rollout always makes progress.
    public func limits(count: Int) -> (surge: Int, unavailable: Int) {
        let surge = maxSurge.resolve(count: count, roundingUp: true)
        let unavailable = maxUnavailable.resolve(count: count, roundingUp: false)
        if surge == 0 && unavailable == 0 && count > 0 { return (0, 1) }
        return (surge, unavailable)
    }

    /// Canaries for a service of `count` servers: a percentage rounds up, so 10% of 3 is one.
    public func canaries(count: Int) -> Int {
        min(count, canary.resolve(count: count, roundingUp: true))
    }
}

/// A stable listener forwarding to a service (served by a later part of Pyre).
public struct EntrypointSpec: Sendable, Equatable {
    public var name: String
    /// `HOST:PORT`.
    public var listen: String
    public var service: String
    public var balance: EntrypointBalance
    /// How long a connection to one server may take before the next server is tried.
    public var connectTimeout: Duration
    /// A server that resets a connection before answering it is replaced by the next one, which
    /// gets what the client sent (`retry_unanswered`).
    public var retryUnanswered: Bool

    public init(name: String, listen: String, service: String, balance: EntrypointBalance = .leastConnections,
                connectTimeout: Duration = .seconds(2), retryUnanswered: Bool = true) {
        self.name = name
        self.listen = listen
        self.service = service
        self.balance = balance
        self.connectTimeout = connectTimeout
        self.retryUnanswered = retryUnanswered
    }
}

/// How an entry point picks a server for each new connection.
public enum EntrypointBalance: String, Sendable, Equatable, CaseIterable {
    case leastConnections = "least_connections"
    case roundRobin = "round_robin"
}
