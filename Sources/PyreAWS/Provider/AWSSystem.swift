import Foundation
import Logging
import PyreCore

/// What the agent's AWS backend and `pyre bake` both read from pyre.yml's `provider: aws`:
/// the account and region to use, and the AMI of each image there.
public enum AWSSystem {
    /// Credentials, region and endpoints as the AWS CLI resolves them; `aws: region:` and
    /// `aws: endpoint:` in pyre.yml win over the environment.
    public static func configuration(for spec: SystemSpec, environment: [String: String]) throws -> AWSConfiguration {
        var environment = environment
        if let region = spec.aws.region { environment["AWS_REGION"] = region }
        if let endpoint = spec.aws.endpoint { environment["AWS_ENDPOINT_URL"] = endpoint }
        do {
            return try AWSConfiguration.resolve(environment: environment)
        } catch {
            throw PyreError(.provider, "provider: aws needs AWS credentials and a region: \(error)")
        }
    }

    /// The AMI pyre.yml names for the image in `region` (`pyre bake` makes sure it holds it).
    public static func ami(of recipe: ImageRecipe, region: String) throws -> String {
        guard let ami = recipe.amis[region] else {
            throw PyreError(.provider, "image \(recipe.name) has no AMI for region \(region): add "
                + "ami: { \(region): ami-… } under images.\(recipe.name) in pyre.yml, then run pyre bake")
        }
        return ami
    }

    /// `pyre bake` for `provider: aws`: records each image's digest on its AMI for the region
    /// (the `pyre:image` tag), which a deploy then insists on. Returns the AMIs by image name.
    public static func recordBakes(_ spec: SystemSpec, digests: [String: ImageDigest], logger: Logger,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) async throws
        -> [String: String] {
        let configuration = try configuration(for: spec, environment: environment)
        var amis: [ImageDigest: String] = [:]
        var byName: [String: String] = [:]
        for recipe in spec.images {
            guard let digest = digests[recipe.name] else { continue }
            let ami = try ami(of: recipe, region: configuration.region)
            amis[digest] = ami
            byName[recipe.name] = ami
        }
        let ec2 = EC2ServerProvider(ec2: EC2Client(client: AWSClient(configuration: configuration, logger: logger)),
                                    configuration: .init(system: spec.name))
        try await ec2.recordBakes(amis)
        return byName
    }
}
