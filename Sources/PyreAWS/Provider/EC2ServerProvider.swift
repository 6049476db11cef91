import Foundation
import PyreCore
import Synchronization

/// Runs a system's servers as EC2 instances, one instance per server, started from the AMI
/// baked for the server's image. A server's id is its instance id, so a step's new servers
/// of a service start with one RunInstances call and carry the same tags; a restarted agent
/// (or another machine) finds them again by the `pyre:system` tag.
public struct EC2ServerProvider: ServerProvider {
    public struct Configuration: Sendable, Equatable {
        public var system: String
        public var instanceType: String
        public var subnetID: String?
        public var securityGroupIDs: [String]

        public init(system: String, instanceType: String = "t3.micro", subnetID: String? = nil,
                    securityGroupIDs: [String] = []) {
            self.system = system
            self.instanceType = instanceType
            self.subnetID = subnetID
            self.securityGroupIDs = securityGroupIDs
        }
    }

    /// What Pyre writes on every instance it starts.
    enum Tag {
        static let system = "pyre:system"
        static let service = "pyre:service"
        static let generation = "pyre:generation"
        static let image = "pyre:image"
        static let configHash = "pyre:config"
        static let port = "pyre:port"
        /// The launch's client token: finds the instances of a launch whose answer was lost.
        static let launch = "pyre:launch"
    }

    /// Every state but `shutting-down` and `terminated`: an instance that still counts.
    static let liveStates = ["pending", "running", "stopping", "stopped"]

    public var ec2: EC2Client
    public var configuration: Configuration
    /// Tags and addresses of the instances seen so far; they never change after launch.
    let known = InstanceBook()
    /// State and status checks, shared with ``EC2HealthChecker`` so a gate's two questions cost one call.
    let statuses: BatchedLookup<String, EC2InstanceStatus>

    public init(ec2: EC2Client, configuration: Configuration) {
        self.ec2 = ec2
        self.configuration = configuration
        statuses = BatchedLookup(freshness: .milliseconds(250)) { ids in
            try await Self.statuses(of: ids, ec2: ec2)
        }
    }

    public var createsInBatches: Bool { true }

    /// Checks, in one call, that each AMI exists and carries the `pyre:image` tag of the image
    /// it stands for (pyre bake writes it), so no server starts from an AMI baked from other
    /// files. Run it before a deploy, with the AMIs it deploys.
    public func verifyImages(_ amis: [ImageDigest: String]) async throws {
        let found = Dictionary(try await ec2.describeImages(Array(Set(amis.values))).map { ($0.id, $0.tags) },
                               uniquingKeysWith: { first, _ in first })
        for (image, ami) in amis.sorted(by: { $0.value < $1.value }) {
            guard let tags = found[ami] else {
                throw PyreError(.provider, "AMI \(ami) for image \(image.short) is not in region "
                    + "\(ec2.client.configuration.region): run pyre bake for this region")
            }
            guard tags[Tag.image] == image.rawValue else {
                let actual = tags[Tag.image].map { "is tagged \(Tag.image)=\($0)" } ?? "has no \(Tag.image) tag"
                throw PyreError(.provider, "AMI \(ami) \(actual), so it was not baked from image \(image.short): "
                    + "run pyre bake, or name the AMI baked for this image")
            }
        }
    }

    /// `pyre bake`: records on each AMI the digest of the image it holds, which
    /// ``verifyImages(_:)`` then insists on.
    public func recordBakes(_ amis: [ImageDigest: String]) async throws {
        for (image, ami) in amis.sorted(by: { $0.value < $1.value }) {
            try await ec2.createTags([ami], tags: [Tag.image: image.rawValue])
        }
    }

    public func create(_ spec: ServerSpec) async throws -> ServerInfo {
        try await create(batch: [spec])[0].get()
    }

    /// One RunInstances per group of specs that differ only in id (the engine sends one group).
    public func create(batch specs: [ServerSpec]) async -> [Result<ServerInfo, any Error>] {
        let groups = Dictionary(grouping: specs.indices) { index in
            let spec = specs[index]
            return [spec.service, String(spec.generation), spec.image.rawValue, spec.configHash, String(spec.port)]
        }
        var results = [Result<ServerInfo, any Error>?](repeating: nil, count: specs.count)
        await withTaskGroup(of: ([Int], Result<[ServerInfo], any Error>).self) { group in
            for indices in groups.values {
                // Not `(indices, .success(try await …))`: see Result.init(awaiting:) for the miscompile.
                group.addTask {
                    let outcome = await Result(awaiting: { try await launch(indices.map { specs[$0] }) })
                    return (indices, outcome)
                }
            }
            for await (indices, outcome) in group {
                for (position, index) in indices.enumerated() {
                    results[index] = outcome.flatMap { servers in
                        position < servers.count ? .success(servers[position])
                            : .failure(PyreError(.provider, "EC2 started \(servers.count) of \(indices.count) instances"))
                    }
                }
            }
        }
        return results.map { $0! }
    }

    public func inspect(_ id: ServerID) async throws -> ServerInfo? {
        guard Self.isInstanceID(id.rawValue), let status = try await statuses.value(for: id.rawValue),
              !["shutting-down", "terminated"].contains(status.state) else { return nil }
        var instance = known[id.rawValue]
        if instance == nil {
            instance = try await ec2.describeInstances(filters: ["instance-id": [id.rawValue]]).first
            instance.map(known.remember)
        }
        guard var instance, instance.tags[Tag.system] == configuration.system else { return nil }
        instance.state = status.state
        return Self.info(instance)
    }

    public func list() async throws -> [ServerInfo] {
        let instances = try await ec2.describeInstances(filters: [
            "tag:\(Tag.system)": [configuration.system], "instance-state-name": Self.liveStates,
        ])
        instances.forEach(known.remember)
        return instances.compactMap(Self.info)
    }

    public func destroy(_ id: ServerID) async throws {
        if let failure = await destroy(batch: [id])[id] { throw PyreError(.provider, failure) }
    }

    /// One TerminateInstances for every server. Ids EC2 does not know are gone already: when
    /// the call names one, the known ones are looked up and terminated without it.
    public func destroy(batch ids: [ServerID]) async -> [ServerID: String] {
        let instanceIDs = ids.map(\.rawValue).filter(Self.isInstanceID)
        do {
            try await Self.skippingUnknownInstances(instanceIDs, ec2: ec2) { try await ec2.terminateInstances($0) }
            await statuses.forget(instanceIDs)
            instanceIDs.forEach(known.forget)
            return [:]
        } catch {
            return Dictionary(uniqueKeysWithValues: ids.map { ($0, "could not terminate: \(error)") })
        }
    }

    /// Starts the instances of specs that differ only in id, with one RunInstances call.
    private func launch(_ specs: [ServerSpec]) async throws -> [ServerInfo] {
        let spec = specs[0]
        guard case .ami(let ami) = spec.imageLocation else {
            throw PyreError(.provider, "no AMI for image \(spec.image.short) of service \(spec.service) in region "
                + "\(ec2.client.configuration.region) (it is at \(spec.imageLocation)): run pyre bake for this region")
        }
        // The engine's id for the first server is fresh, so it serves as the launch's token.
        let token = spec.id.rawValue
        let tags = [
            Tag.system: configuration.system, Tag.service: spec.service, Tag.generation: String(spec.generation),
            Tag.image: spec.image.rawValue, Tag.configHash: spec.configHash, Tag.port: String(spec.port),
            Tag.launch: token,
        ]
        let launch = EC2Client.Launch(imageID: ami, instanceType: configuration.instanceType, count: specs.count,
                                      clientToken: token, subnetID: configuration.subnetID,
                                      securityGroupIDs: configuration.securityGroupIDs,
                                      userData: Self.userData(spec), tags: tags)
        let instances = try await runOnce(launch)
        instances.forEach(known.remember)
        return instances.compactMap(Self.info)
    }

    /// RunInstances, retried only once no instance of the launch exists: the token alone
    /// makes EC2 answer a repeat with the first try's instances, but not every EC2-compatible
    /// server honours it (moto does not), and a lost answer must never start a second fleet.
    private func runOnce(_ launch: EC2Client.Launch) async throws -> [EC2Instance] {
        var single = ec2
        single.client.retrier.policy.maxAttempts = 1
        return try await ec2.client.retrier.run { attempt in
            if attempt > 1 {
                let started = try await ec2.describeInstances(filters: [
                    "tag:\(Tag.system)": [configuration.system], "tag:\(Tag.launch)": [launch.clientToken],
                ])
                if !started.isEmpty { return started }
            }
            return try await single.runInstances(launch)
        }
    }

    /// State and status checks of `ids`; ids EC2 does not know are left out of the answer.
    private static func statuses(of ids: [String], ec2: EC2Client) async throws -> [String: EC2InstanceStatus] {
        let statuses = try await skippingUnknownInstances(ids, ec2: ec2) { try await ec2.describeInstanceStatus($0) }
        return Dictionary(statuses.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Runs `call` on `ids`. EC2 fails a whole call that names one instance it does not know
    /// (`InvalidInstanceID.*`); then the known ones are looked up and the call runs on them.
    @discardableResult
    private static func skippingUnknownInstances<T>(_ ids: [String], ec2: EC2Client,
                                                    _ call: ([String]) async throws -> T) async throws -> T {
        do {
            return try await call(ids)
        } catch let error as AWSError where error.code?.hasPrefix("InvalidInstanceID") == true {
            return try await call(ec2.describeInstances(filters: ["instance-id": ids]).map(\.id))
        }
    }

    static func isInstanceID(_ text: String) -> Bool {
        text.hasPrefix("i-") && text.count > 2 && text.dropFirst(2).allSatisfy(\.isHexDigit)
    }

    /// The server as Pyre sees it; nil for an instance without Pyre's tags.
    static func info(_ instance: EC2Instance) -> ServerInfo? {
        let tags = instance.tags
        guard let service = tags[Tag.service], let generation = tags[Tag.generation].flatMap({ Generation($0) }),
              let image = tags[Tag.image], let configHash = tags[Tag.configHash],
              let port = tags[Tag.port].flatMap({ Int($0) }) else { return nil }
        // A stopped instance's process has ended; EC2 keeps no exit status, hence -1.
        let state: ServerInfo.State = ["pending", "running"].contains(instance.state) ? .running : .exited(status: -1)
        // EC2 always reports a launch time; were one missing, the server would count as old
        // and be replaced (phoenix), the safe side.
        return ServerInfo(id: ServerID(instance.id), service: service, generation: generation, image: ImageDigest(image),
                          configHash: configHash, address: instance.privateIP ?? "", port: port,
                          createdAt: instance.launchTime ?? Date(timeIntervalSince1970: 0), state: state)
    }

    /// The server's environment and command as a shell script for cloud-init, which runs it
    /// once at first boot; the AMI holds the image's files under /opt/pyre/image. The
    /// instances of a launch share it, so each learns its id and address from the instance
    /// metadata service (IMDSv2). The agent's CA certificate (`PYRE_CA`) is also written to
    /// ``caFile``, named by `PYRE_CA_FILE`, for clients that take a file.
    static func userData(_ spec: ServerSpec) -> String {
        var variables = ServerEnvironment.variables(for: spec, address: nil)
        var caFile = ""
        if let ca = variables["PYRE_CA"] {
            variables["PYRE_CA_FILE"] = Self.caFile
            caFile = "mkdir -p /etc/pyre\nprintf '%s' \(shellQuoted(ca)) > \(Self.caFile)\n"
        }
        let environment = variables
            .sorted { $0.key < $1.key }
            .map { "export \($0.key)=\(shellQuoted($0.value))\n" }
            .joined()
        let metadata = """
            imds_token=$(curl -sfX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
            imds() { curl -sf -H "X-aws-ec2-metadata-token: $imds_token" "http://169.254.169.254/latest/meta-data/$1"; }
            export PYRE_SERVER="$(imds instance-id)"
            export PYRE_ADDRESS="$(imds local-ipv4)"

            """
        return "#!/bin/sh\n" + environment + caFile + metadata + "cd /opt/pyre/image\nexec "
            + spec.command.map(shellQuoted).joined(separator: " ") + "\n"
    }

    /// Where user data writes the agent's CA certificate on an instance.
    static let caFile = "/etc/pyre/agent-ca.pem"

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Instances seen so far, by id.
final class InstanceBook: Sendable {
    private let instances = Mutex<[String: EC2Instance]>([:])

    subscript(id: String) -> EC2Instance? { instances.withLock { $0[id] } }

    func remember(_ instance: EC2Instance) { instances.withLock { $0[instance.id] = instance } }

    func forget(_ id: String) { _ = instances.withLock { $0.removeValue(forKey: id) } }

    /// The instance with this private address (unique within a VPC).
    func id(atAddress address: String) -> String? {
        instances.withLock { $0.values.first { $0.privateIP == address }?.id }
    }
}
