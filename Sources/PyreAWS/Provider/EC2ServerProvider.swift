import Foundation
import PyreCore

/// Runs a system's servers as EC2 instances: one instance per server, started from the AMI
/// baked for the server's image, tagged with everything Pyre needs to find and describe it
/// again, so a restarted agent (or another machine) sees the same servers.
public struct EC2ServerProvider: ServerProvider {
    public struct Configuration: Sendable, Equatable {
        public var system: String
        /// The AMI baked for each Pyre image.
        public var amis: [ImageDigest: String]
        public var instanceType: String
        public var subnetID: String?
        public var securityGroupIDs: [String]

        public init(system: String, amis: [ImageDigest: String], instanceType: String = "t3.micro",
                    subnetID: String? = nil, securityGroupIDs: [String] = []) {
            self.system = system
            self.amis = amis
            self.instanceType = instanceType
            self.subnetID = subnetID
            self.securityGroupIDs = securityGroupIDs
        }
    }

    /// What Pyre writes on every instance it starts.
    enum Tag {
        static let system = "pyre:system"
        static let service = "pyre:service"
        static let server = "pyre:server"
        static let generation = "pyre:generation"
        static let image = "pyre:image"
        static let configHash = "pyre:config"
        static let port = "pyre:port"
    }

    /// Every state but `shutting-down` and `terminated`: an instance that still counts.
    static let liveStates = ["pending", "running", "stopping", "stopped"]

    public var ec2: EC2Client
    public var configuration: Configuration

    public init(ec2: EC2Client, configuration: Configuration) {
        self.ec2 = ec2
        self.configuration = configuration
    }

    /// Checks, in one call, that every configured AMI exists and carries the `pyre:image` tag
    /// of the image it stands for (pyre bake writes it), so no server starts from an AMI
    /// baked from other files. Run it before a deploy.
    public func verifyImages() async throws {
        let found = Dictionary(try await ec2.describeImages(Array(Set(configuration.amis.values))).map { ($0.id, $0.tags) },
                               uniquingKeysWith: { first, _ in first })
        for (image, ami) in configuration.amis.sorted(by: { $0.value < $1.value }) {
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

    public func create(_ spec: ServerSpec) async throws -> ServerInfo {
        guard let ami = configuration.amis[spec.image] else {
            throw PyreError(.provider, "no AMI for image \(spec.image.short) of service \(spec.service) in region "
                + "\(ec2.client.configuration.region): run pyre bake for this region")
        }
        if try await !instances(of: spec.id).isEmpty {
            throw PyreError(.provider, "server \(spec.id) already exists: server ids are never reused")
        }
        let tags = [
            Tag.system: configuration.system, Tag.service: spec.service, Tag.server: spec.id.rawValue,
            Tag.generation: String(spec.generation), Tag.image: spec.image.rawValue,
            Tag.configHash: spec.configHash, Tag.port: String(spec.port),
        ]
        // The server id is the client token: if EC2 got a call whose answer was lost, the
        // retry returns that call's instance instead of starting a second one.
        let launch = EC2Client.Launch(imageID: ami, instanceType: configuration.instanceType,
                                      clientToken: spec.id.rawValue, subnetID: configuration.subnetID,
                                      securityGroupIDs: configuration.securityGroupIDs,
                                      userData: Self.userData(spec), tags: tags)
        guard let instance = try await ec2.runInstances(launch).first, let info = Self.info(instance) else {
            throw PyreError(.provider, "EC2 started no instance for \(spec.id)")
        }
        return info
    }

    public func inspect(_ id: ServerID) async throws -> ServerInfo? {
        try await instances(of: id).compactMap(Self.info).first
    }

    public func list() async throws -> [ServerInfo] {
        try await ec2.describeInstances(filters: [
            "tag:\(Tag.system)": [configuration.system], "instance-state-name": Self.liveStates,
        ]).compactMap(Self.info)
    }

    public func destroy(_ id: ServerID) async throws {
        try await ec2.terminateInstances(instances(of: id).map(\.id))
    }

    private func instances(of id: ServerID) async throws -> [EC2Instance] {
        try await ec2.describeInstances(filters: [
            "tag:\(Tag.system)": [configuration.system], "tag:\(Tag.server)": [id.rawValue],
            "instance-state-name": Self.liveStates,
        ])
    }

    /// The server as Pyre sees it; nil for an instance without Pyre's tags.
    static func info(_ instance: EC2Instance) -> ServerInfo? {
        let tags = instance.tags
        guard let server = tags[Tag.server], let service = tags[Tag.service],
              let generation = tags[Tag.generation].flatMap({ Generation($0) }), let image = tags[Tag.image],
              let configHash = tags[Tag.configHash], let port = tags[Tag.port].flatMap({ Int($0) }) else { return nil }
        // A stopped instance's process has ended; EC2 keeps no exit status, hence -1.
        let state: ServerInfo.State = ["pending", "running"].contains(instance.state) ? .running : .exited(status: -1)
        // EC2 always reports a launch time; were one missing, the server would count as old
        // and be replaced (phoenix), the safe side.
        return ServerInfo(id: ServerID(server), service: service, generation: generation, image: ImageDigest(image),
                          configHash: configHash, address: instance.privateIP ?? "", port: port,
                          createdAt: instance.launchTime ?? Date(timeIntervalSince1970: 0), state: state)
    }

    /// The server's environment and command as a shell script for cloud-init, which runs it
    /// once at first boot; the AMI holds the image's files under /opt/pyre/image.
    static func userData(_ spec: ServerSpec) -> String {
        let environment = pyreEnvironment(for: spec, address: "0.0.0.0")
            .sorted { $0.key < $1.key }
            .map { "export \($0.key)=\(shellQuoted($0.value))\n" }
            .joined()
        return "#!/bin/sh\n" + environment + "cd /opt/pyre/image\nexec " + spec.command.map(shellQuoted).joined(separator: " ") + "\n"
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
