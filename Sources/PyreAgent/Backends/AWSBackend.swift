import Foundation
import Logging
import PyreAPI
import PyreAWS
import PyreCore
import PyreHealth
import PyreImages
import ServiceLifecycle
import Synchronization

/// `provider: aws`: EC2 instances for servers, EC2 status checks (then the service's own
/// check, when the agent can reach the instances) for health, and a Route 53 hosted zone
/// private to the servers' VPC for names. The agent serves its events API (HTTPS), syslog over
/// TLS and DNS on its address in the VPC (`aws: agent_address`), and servers are told where
/// through user data, with the CA that checks the agent's certificate.
struct AWSBackend: SystemBackend {
    let ec2: EC2ServerProvider
    let ec2Health: EC2HealthChecker
    let route53: Route53Publisher
    let region: String
    let zone: String
    let network: NetworkTLS
    let dnsPort: Int
    let bakedAMIs: BakedAMIs
    /// Where disks and upload journals of AMIs a deploy makes are kept meanwhile.
    let amiWork: URL
    let logger: Logger
    let environment: [String: String]

    /// Without root, DNS cannot have port 53.
    static let unprivilegedDNSPort = 5353

    /// Resolves credentials, region and endpoints as the AWS CLI does; `aws: region:` and
    /// `aws: endpoint:` in pyre.yml win over the environment.
    init(spec: SystemSpec, network: NetworkTLS, bakedAMIs: BakedAMIs, amiWork: URL, logger: Logger,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.network = network
        self.bakedAMIs = bakedAMIs
        self.amiWork = amiWork
        self.logger = logger
        self.environment = environment
        dnsPort = spec.aws.dnsPort ?? (getuid() == 0 ? 53 : Self.unprivilegedDNSPort)
        let configuration = try AWSSystem.configuration(for: spec, environment: environment)
        let client = AWSClient(configuration: configuration, logger: logger)
        region = configuration.region
        zone = spec.zone
        ec2 = EC2ServerProvider(ec2: EC2Client(client: client), configuration: .init(
            system: spec.name, instanceType: spec.aws.instanceType, subnetID: spec.aws.subnet,
            securityGroupIDs: spec.aws.securityGroups))
        ec2Health = EC2HealthChecker(provider: ec2, probe: spec.aws.probeServices ? NetworkHealthChecker() : nil)
        let ec2Client = EC2Client(client: client)
        let (vpc, subnet, region) = (spec.aws.vpc, spec.aws.subnet, configuration.region)
        route53 = Route53Publisher(route53: Route53Client(client: client), zone: spec.zone,
                                   ttl: Int(spec.dns.ttl.components.seconds), logger: logger, privateTo: {
            Route53Client.VPC(id: try await ec2Client.systemVPC(vpc: vpc, subnet: subnet), region: region)
        })
    }

    /// The AMI pyre.yml names for the image in this region, or the one `pyre bake` made for a
    /// whole-server image (a deploy checks its `pyre:image` tag either way).
    func imageLocation(of recipe: ImageRecipe, digest: ImageDigest, bakedAt root: URL) throws -> ImageLocation {
        .ami(try AWSSystem.ami(of: recipe, digest: digest, region: region, baked: bakedAMIs))
    }

    /// Each image names its AMI (`ami:`) or has a base that can boot on EC2; syslog over TLS is
    /// the agent's own on AWS.
    func validate(_ spec: SystemSpec) throws {
        for recipe in spec.imagesInUse { try AWSSystem.checkBootable(recipe) }
        if spec.logs.tls != nil {
            throw PyreError(.manifest, "logs: tls: is for provider local; on provider aws the agent serves syslog over TLS "
                + "itself, with its own CA or the certificate under aws: tls:, on aws: syslog_tls_port: (default 6514)")
        }
    }

    /// A whole-server image without `ami:` that has no AMI yet gets one, as `pyre bake` makes
    /// it (an image baked before is found by its tag and costs one call), with the upload's
    /// progress as notices of the deploy.
    func prepareImages(_ spec: SystemSpec, baked: [BakedImage], progress: @escaping ProgressSink) async throws {
        let needed = baked.filter { image in
            image.isWholeServer && spec.image(named: image.name)?.amis[region] == nil
                && bakedAMIs.ami(of: image.digest, region: region) == nil
        }
        guard !needed.isEmpty else { return }
        let work = amiWork
        let requests = needed.map { image in
            AWSSystem.BakeRequest(name: image.name, digest: image.digest, makeDisk: { file in
                progress(.notice(message: "\(image.name): making its bootable disk for an AMI"))
                _ = try await BootableDisk.build(image, of: spec, into: file, work: work)
            })
        }
        let shown = UploadNotices()
        let results = try await AWSSystem.bake(spec, images: requests, baked: bakedAMIs, workDirectory: amiWork,
                                               logger: logger, environment: environment) { name, upload in
            if shown.due(upload) {
                progress(.notice(message: "\(name): snapshot \(upload.blocksDone)/\(upload.blocksTotal) blocks"))
            }
        }
        for (name, result) in results.sorted(by: { $0.key < $1.key }) {
            if case .made(let outcome) = result { progress(.notice(message: "\(name): AMI \(outcome.ami)")) }
        }
    }

    var provider: any ServerProvider { ec2 }
    var health: any HealthChecker { ec2Health }
    var publisher: (any ServerPublisher)? { route53 }
    var systemAddress: String { network.address }

    /// The events API over HTTPS with its token, syslog over TLS (RFC 5425), DNS, and the CA
    /// certificate that checks the first two. RELP and plain syslog stay on the agent's loopback.
    func serverEnvironment(_ services: AgentServiceAddresses) -> [String: String] {
        var environment = ["PYRE_DNS": services.dns, "PYRE_EVENTS_URL": services.eventsURL,
                           "PYRE_EVENTS_TOKEN": services.eventsToken]
        environment["PYRE_LOGS"] = services.syslogTLS
        environment["PYRE_CA"] = services.caPEM
        return environment
    }

    func prepare() async throws {}

    /// The services' AMIs exist and were baked from their images; the zone's static records
    /// are the manifest's and the agent's names.
    func prepareDeploy(_ spec: SystemSpec, services: [DesiredService]) async throws {
        var amis: [ImageDigest: String] = [:]
        for service in services { if case .ami(let ami) = service.imageLocation { amis[service.image] = ami } }
        try await ec2.verifyImages(amis)
        await route53.setStaticRecords(spec.dns.records + agentRecords, defaultTTL: spec.dns.ttl)
    }

    /// `dns.ZONE`, `events.ZONE` and `logs.ZONE` at the agent's address, as in the agent's own
    /// zone: the names its certificate carries.
    var agentRecords: [StaticDNSRecord] {
        ["dns", "events", "logs"].map { StaticDNSRecord(name: "\($0).\(zone)", value: .a(network.address)) }
    }

    func tick() async { await route53.resync() }

    var services: [any Service] { [] }
    var startupLines: [String] {
        ["servers are EC2 instances; their names are in the Route 53 hosted zone \(zone) (private to the VPC)",
         "servers reach the agent at \(network.address) over TLS (its certificate: \(network.certificatePath))"]
    }

    /// Instances are adopted by the next start, as after any agent restart.
    func teardown() async throws {}
}

/// Upload progress as notices: one at each tenth of the blocks, not one per block.
private final class UploadNotices: Sendable {
    private let lastTenth = Mutex(-1)

    func due(_ progress: SnapshotUpload.Progress) -> Bool {
        let tenth = progress.blocksTotal == 0 ? 10 : progress.blocksDone * 10 / progress.blocksTotal
        return lastTenth.withLock { last in
            guard tenth > last else { return false }
            last = tenth
            return true
        }
    }
}
