import Foundation
import Logging
import PyreAWS
import PyreCore
import PyreDeploy

/// What an agent whose pyre.yml says `provider: aws` runs on: EC2 instances for servers,
/// EC2 status checks (then the service's own check, when the agent can reach the
/// instances) for health, and a Route 53 hosted zone for names.
struct AWSBackend {
    let provider: EC2ServerProvider
    let health: EC2HealthChecker
    let publisher: Route53Publisher
    let region: String

    /// Resolves credentials, region and endpoints as the AWS CLI does; `aws: region:` and
    /// `aws: endpoint:` in pyre.yml win over the environment.
    init(spec: SystemSpec, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var environment = environment
        if let region = spec.aws.region { environment["AWS_REGION"] = region }
        if let endpoint = spec.aws.endpoint { environment["AWS_ENDPOINT_URL"] = endpoint }
        let configuration: AWSConfiguration
        do {
            configuration = try AWSConfiguration.resolve(environment: environment)
        } catch {
            throw PyreError(.provider, "provider: aws needs AWS credentials and a region: \(error)")
        }
        let client = AWSClient(configuration: configuration, logger: logger)
        region = configuration.region
        provider = EC2ServerProvider(ec2: EC2Client(client: client), configuration: .init(
            system: spec.name, instanceType: spec.aws.instanceType, subnetID: spec.aws.subnet,
            securityGroupIDs: spec.aws.securityGroups))
        health = EC2HealthChecker(provider: provider, probe: spec.aws.probeServices ? NetworkHealthChecker() : nil)
        publisher = Route53Publisher(route53: Route53Client(client: client), zone: spec.zone,
                                     ttl: Int(spec.dns.ttl.components.seconds), logger: logger)
    }

    /// The AMI of each image the deploy uses, in this region.
    func amis(for spec: SystemSpec, digests: [String: ImageDigest]) throws -> [ImageDigest: String] {
        var amis: [ImageDigest: String] = [:]
        for recipe in spec.images {
            guard let digest = digests[recipe.name] else { continue }
            guard let ami = recipe.amis[region] else {
                throw PyreError(.provider, "image \(recipe.name) has no AMI for region \(region): add "
                    + "ami: { \(region): ami-… } under images.\(recipe.name) in pyre.yml, then run pyre bake")
            }
            amis[digest] = ami
        }
        return amis
    }

    /// Before a deploy: these AMIs, and only these, exist and were baked from their images.
    func prepare(amis: [ImageDigest: String]) async throws {
        provider.amis.replace(with: amis)
        try await provider.verifyImages()
    }
}

/// `pyre bake` for `provider: aws`: records each image's digest on its AMI for the region
/// (the `pyre:image` tag), which a deploy then insists on. Returns the AMIs by image name.
public func recordAWSBakes(_ spec: SystemSpec, digests: [String: ImageDigest], logger: Logger,
                           environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> [String: String] {
    let aws = try AWSBackend(spec: spec, logger: logger, environment: environment)
    let amis = try aws.amis(for: spec, digests: digests)
    try await aws.provider.recordBakes(amis)
    return Dictionary(uniqueKeysWithValues: digests.compactMap { name, digest in amis[digest].map { (name, $0) } })
}

/// Publishes to several identity layers (the agent's own DNS and entry points, and Route
/// 53), each with its one change, and drains through the first.
struct PublisherChain: ServerPublisher {
    let publishers: [any ServerPublisher]

    func update(publishing servers: [ServerInfo], unpublishing leaving: [ServerID]) async {
        await withTaskGroup(of: Void.self) { group in
            for publisher in publishers {
                group.addTask { await publisher.update(publishing: servers, unpublishing: leaving) }
            }
        }
    }

    func drain(_ ids: [ServerID], within period: Duration) async {
        await publishers.first?.drain(ids, within: period)
    }
}
