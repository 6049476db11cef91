import Foundation
import Glibc
import Logging
import PyreCore
import PyreHealth
import PyreLocal
import ServiceLifecycle

/// `provider: local` (the default): servers on this machine (``LocalProvider``), checked
/// over the network, reaching the agent's services on the system address.
struct LocalBackend: SystemBackend {
    let local: LocalProvider
    let dnsPort: Int

    init(_ context: BackendContext) throws {
        dnsPort = getuid() == 0 ? 53 : Self.unprivilegedDNSPort
        var configuration = LocalProviderConfiguration(system: context.spec.name, serversDirectory: context.state.servers,
                                                       isolation: context.configuration.isolation)
        if let subnet = context.configuration.subnet { configuration.subnet = subnet }
        configuration.shipOutput = context.logs.shipOutput
        configuration.systemServices = Self.systemServices(dnsPort: dnsPort, eventsPort: context.spec.events.port,
                                                           logs: context.logs)
        configuration.hiddenPaths.append(context.state.root.path)
        local = try LocalProvider(configuration: configuration, logger: context.logger)
        try validate(context.spec)
    }

    /// Without root, DNS cannot have port 53 (process mode only).
    static let unprivilegedDNSPort = 5353

    /// What servers may reach on the system address: DNS, the events API and syslog (UDP,
    /// TCP and TLS). A new service of the agent's for servers adds its port here.
    static func systemServices(dnsPort: Int, eventsPort: Int, logs: LogsLayer) -> SystemServicePorts {
        SystemServicePorts(tcp: [dnsPort, eventsPort, logs.port, logs.relpPort] + (logs.tls.map { [$0.port] } ?? []),
                           udp: [dnsPort, logs.port])
    }

    var provider: any ServerProvider { local }
    var health: any HealthChecker { NetworkHealthChecker() }
    var publisher: (any ServerPublisher)? { nil }
    var systemAddress: String { local.systemAddress }

    func serverEnvironment(_ services: AgentServiceAddresses) -> [String: String] {
        ["PYRE_DNS": services.dns, "PYRE_EVENTS_URL": services.eventsURL, "PYRE_EVENTS_TOKEN": services.eventsToken,
         "PYRE_LOGS": services.syslog, "PYRE_LOGS_RELP": services.relp]
    }

    func prepare() async throws { try await local.prepare() }
    /// The baked tree itself, read-only: a host-OS image's working directory, a whole-server
    /// image's root.
    func imageLocation(of recipe: ImageRecipe, digest: ImageDigest, bakedAt root: URL) throws -> ImageLocation {
        guard recipe.isWholeServer else { return .directory(root) }
        return .root(ImageRoot(directory: root, workdir: recipe.workdir, tmpfsBytes: recipe.tmpfsBytes))
    }

    /// A whole-server image needs a root of its own, which only namespace isolation gives.
    func validate(_ spec: SystemSpec) throws {
        guard local.configuration.isolation == .process, let recipe = spec.imagesInUse.first(where: \.isWholeServer) else { return }
        let field = "images.\(recipe.name).base"
        throw PyreError(.manifest, "image '\(recipe.name)' is a whole-server image (it has `base:`), and process isolation cannot "
            + "give a server a root of its own: run as root with --isolation namespaces, or remove `base:` to run the app on "
            + "the host's OS", location: spec.fieldLocations[field], field: field)
    }
    func prepareDeploy(_ spec: SystemSpec, services: [DesiredService]) async throws {}
    func tick() async {}

    /// The agent ships local servers' output to the log store.
    var services: [any Service] { local.outputShipper.map { [OutputShipping(shipper: $0)] } ?? [] }
    var startupLines: [String] { [] }

    /// The bridge, the guard route and the firewall, in namespace mode.
    func teardown() async throws { try await local.teardown() }
}

/// Ships servers' output to the log store until shutdown; servers destroyed later ship
/// their last lines themselves.
struct OutputShipping: Service {
    let shipper: OutputShipper

    func run() async throws {
        await cancelWhenGracefulShutdown { await shipper.run() }
    }
}
