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

    /// The AMI of the image in `region`: the one pyre.yml names (`ami:`), else the one
    /// `pyre bake` made from a whole-server image (recorded in `baked`).
    public static func ami(of recipe: ImageRecipe, digest: ImageDigest, region: String, baked: BakedAMIs) throws -> String {
        if let ami = recipe.amis[region] { return ami }
        guard recipe.isWholeServer else {
            throw PyreError(.provider, "image \(recipe.name) has no AMI for region \(region): add "
                + "ami: { \(region): ami-… } under images.\(recipe.name) in pyre.yml, then run pyre bake "
                + "(or give it a whole-server base, which pyre bake turns into an AMI)")
        }
        guard let ami = baked.ami(of: digest, region: region) else {
            throw PyreError(.provider, "image \(recipe.name) (\(digest.short)) has no AMI in region \(region) yet: "
                + "run pyre bake, which makes it from the image")
        }
        return ami
    }

    /// Refuses, before anything is baked, a Debian base that `pyre bake` could not turn into an
    /// AMI: one without a kernel, a UEFI loader, an init or cloud-init. (Other bases are checked
    /// when their disk is made, by the files they hold.)
    public static func checkBootable(_ recipe: ImageRecipe) throws {
        guard recipe.amis.isEmpty, case .debian(let suite, let packages, _) = recipe.base else { return }
        let names = packages.map { $0.split(separator: "=").first.map(String.init) ?? $0 }
        let needed: [(what: String, package: String, present: Bool)] = [
            ("a kernel", "linux-image-cloud-amd64", names.contains { $0.hasPrefix("linux-image-") }),
            ("a UEFI boot loader", "systemd-boot-efi", names.contains { $0 == "systemd-boot-efi" || $0 == "systemd-boot" }),
            ("an init", "systemd-sysv", names.contains("systemd-sysv")),
            ("cloud-init, which starts the server from user data", "cloud-init", names.contains("cloud-init")),
        ]
        let missing = needed.filter { !$0.present }
        guard missing.isEmpty else {
            throw PyreError(.manifest, "image \(recipe.name) runs on EC2 from an AMI that pyre bake makes from it, "
                + "but its base (debian \(suite)) lacks " + missing.map { "\($0.what) (\($0.package))" }.joined(separator: ", ")
                + ": add " + missing.map(\.package).joined(separator: ", ") + " to base: { packages: […] }, "
                + "or name an AMI of your own with ami:")
        }
    }

    /// One image of a `pyre bake`: for a whole-server image, how to write its bootable disk.
    public struct BakeRequest: Sendable {
        public var name: String
        public var digest: ImageDigest
        /// Nil for a host-OS image, which needs `ami:`.
        public var makeDisk: (@Sendable (URL) async throws -> Void)?

        public init(name: String, digest: ImageDigest, makeDisk: (@Sendable (URL) async throws -> Void)?) {
            self.name = name
            self.digest = digest
            self.makeDisk = makeDisk
        }
    }

    /// What `pyre bake` did for one image.
    public enum BakeResult: Sendable, Equatable {
        /// `ami:` named it; its `pyre:image` tag now says the digest.
        case tagged(ami: String)
        case made(AMIBake.Outcome)
    }

    /// `pyre bake` for `provider: aws`: an image with `ami:` for the region has the image's
    /// digest recorded on that AMI (the `pyre:image` tag, which a deploy insists on); a
    /// whole-server image without one becomes an AMI of its own (``AMIBake``), recorded in
    /// `baked`. `workDirectory` holds disks and upload journals while they are needed (and the
    /// disks after, with `keepDisks`).
    public static func bake(_ spec: SystemSpec, images: [BakeRequest], baked: BakedAMIs, workDirectory: URL,
                            keepDisks: Bool = false, logger: Logger,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            onProgress: @escaping @Sendable (String, SnapshotUpload.Progress) -> Void) async throws
        -> [String: BakeResult] {
        let configuration = try configuration(for: spec, environment: environment)
        let region = configuration.region
        let client = AWSClient(configuration: configuration, logger: logger)
        let ec2 = EC2ServerProvider(ec2: EC2Client(client: client), configuration: .init(system: spec.name))
        var results: [String: BakeResult] = [:]
        for request in images {
            guard let recipe = spec.image(named: request.name) else { continue }
            if let ami = recipe.amis[region] {
                try await ec2.recordBakes([request.digest: ami])
                results[request.name] = .tagged(ami: ami)
                continue
            }
            guard let makeDisk = request.makeDisk else {
                _ = try ami(of: recipe, digest: request.digest, region: region, baked: baked)  // throws the advice
                continue
            }
            let outcome = try await AMIBake(ec2: EC2Client(client: client), ebs: EBSClient(client: client))
                .ensureAMI(system: spec.name, name: request.name, digest: request.digest, workDirectory: workDirectory,
                           keepDisk: keepDisks, makeDisk: makeDisk) { onProgress(request.name, $0) }
            try baked.record(outcome.ami, of: request.digest, region: region)
            results[request.name] = .made(outcome)
        }
        return results
    }
}

/// The AMIs `pyre bake` made from whole-server images, by region and digest, in a JSON file
/// of the state directory: what the agent deploys them from.
public struct BakedAMIs: Sendable {
    public let file: URL

    public init(file: URL) {
        self.file = file
    }

    public func ami(of digest: ImageDigest, region: String) -> String? {
        load()[region]?[digest.rawValue]
    }

    /// Under a lock, so that a bake and a deploy recording at once both keep theirs.
    public func record(_ ami: String, of digest: ImageDigest, region: String) throws {
        let lock = try FileLock(file: URL(fileURLWithPath: file.path + ".lock"),
                                busy: PyreError(.bake, "cannot lock \(file.path)"), wait: true)
        defer { withExtendedLifetime(lock) {} }
        var all = load()
        all[region, default: [:]][digest.rawValue] = ami
        let data = try JSONEncoder().encode(all)
        try data.write(to: file, options: .atomic)
    }

    private func load() -> [String: [String: String]] {
        guard let data = try? Data(contentsOf: file) else { return [:] }
        return (try? JSONDecoder().decode([String: [String: String]].self, from: data)) ?? [:]
    }
}
