import Foundation
import Logging
import PyreCore
import PyreTesting
import Testing
@testable import PyreAWS

@Suite struct EC2ServerProviderTests {
    static let image = ImageDigest("sha256:" + String(repeating: "cd", count: 32))

    /// A server of `image` from `ami` (nil: an image baked on this machine only).
    static func spec(_ id: ServerID, system: String, image: ImageDigest = image, ami: String?) -> ServerSpec {
        let parts = id.rawValue.split(separator: "-")
        return ServerSpec(id: id, system: system, service: String(parts[0]), generation: Int(parts[1]) ?? 1,
                          image: image, imageLocation: ami.map { .ami($0) } ?? .directory(URL(fileURLWithPath: "/nonexistent")),
                          command: ["python3", "app.py", "it's"], env: ["GREETING": "hello world"], port: 8080,
                          configHash: "0123456789abcdef", zone: "\(system).pyre.")
    }

    /// A provider for `system` on moto, and an AMI there.
    static func provider(system: String) async throws -> (EC2ServerProvider, ami: String) {
        let moto = try await MotoServer.shared()
        let ec2 = EC2Client(client: AWSClient(configuration: moto.configuration(), logger: Logger(label: "test")))
        return (EC2ServerProvider(ec2: ec2, configuration: .init(system: system)), try await EC2ClientTests.someAMI())
    }

    @Test func passesTheProviderConformanceSuiteOnMoto() async throws {
        let system = EC2ClientTests.uniqueName("conform")
        let (provider, ami) = try await Self.provider(system: system)
        try await ProviderConformance.run(makeProvider: { provider }, makeSpec: { Self.spec($0, system: system, ami: ami) })
    }

    @Test func listsOnlyItsOwnSystem() async throws {
        let (mine, ami) = try await Self.provider(system: EC2ClientTests.uniqueName("mine"))
        let (theirs, _) = try await Self.provider(system: EC2ClientTests.uniqueName("theirs"))
        let created = try await mine.create(Self.spec(.make(service: "web", generation: 1), system: mine.configuration.system,
                                                      ami: ami))
        #expect(try await mine.list().map(\.id) == [created.id])
        #expect(try await theirs.list().isEmpty)
        #expect(try await theirs.inspect(created.id) == nil)
        try await mine.destroy(created.id)
    }

    @Test func anImageWithoutAnAMISaysToBake() async throws {
        let system = EC2ClientTests.uniqueName("noami")
        let (provider, _) = try await Self.provider(system: system)
        let other = ImageDigest("sha256:" + String(repeating: "ef", count: 32))
        let error = await #expect(throws: PyreError.self) {
            try await provider.create(Self.spec(.make(service: "web", generation: 1), system: system, image: other, ami: nil))
        }
        #expect(error?.message.contains("pyre bake") == true)
        #expect(try await provider.list().isEmpty)
    }

    @Test func verifyImagesAcceptsOnlyAMIsTaggedWithTheirImage() async throws {
        let (provider, _) = try await Self.provider(system: EC2ClientTests.uniqueName("verify"))
        let ec2 = provider.ec2
        let amis = try await MotoServer.shared().amazonAMIs()
        try #require(amis.count >= 4)
        // Other tests share moto, so this one tags AMIs past the first, which they use.
        let (baked, untagged, other) = (amis[1], amis[2], amis[3])
        let image = ImageDigest("sha256:" + String(repeating: "0", count: 32)
            + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
        try await ec2.createTags([baked], tags: ["pyre:image": image.rawValue])
        try await ec2.createTags([other], tags: ["pyre:image": "sha256:" + String(repeating: "0", count: 64)])

        func verify(_ ami: String) async throws {
            try await provider.verifyImages([image: ami])
        }
        try await verify(baked)
        let missingTag = await #expect(throws: PyreError.self) { try await verify(untagged) }
        #expect(missingTag?.message.contains("has no pyre:image tag") == true)
        let wrongTag = await #expect(throws: PyreError.self) { try await verify(other) }
        #expect(wrongTag?.message.contains("was not baked from image") == true)
        let unknown = await #expect(throws: AWSError.self) { try await verify("ami-00000000000000000") }
        #expect(unknown?.code == "InvalidAMIID.NotFound")
    }

    /// EC2 answers a repeated RunInstances with the first call's instances (the client token);
    /// moto does not, so this shows the provider's own guard: before a retry it looks for the
    /// launch's instances by tag.
    @Test func aRetriedLaunchWhoseAnswerWasLostStartsNoSecondInstance() async throws {
        let moto = try await MotoServer.shared()
        let proxy = try AnswerDroppingProxy(upstream: moto.endpoint, dropFirstAnswerTo: "Action=RunInstances")
        defer { proxy.close() }
        var configuration = moto.configuration()
        configuration.endpoint = proxy.endpoint
        let ec2 = EC2Client(client: AWSClient(configuration: configuration, logger: Logger(label: "test"),
                                              retrier: Retrier(sleep: { _ in })))
        let system = EC2ClientTests.uniqueName("lost")
        let provider = EC2ServerProvider(ec2: ec2, configuration: .init(system: system))
        let ami = try await EC2ClientTests.someAMI()
        let specs = (0..<2).map { _ in Self.spec(.make(service: "web", generation: 1), system: system, ami: ami) }
        let created = try await provider.create(batch: specs).map { try $0.get() }
        #expect(proxy.hasDropped, "the first answer was lost")
        let launched = try await ec2.describeInstances(filters: ["tag:pyre:system": [system]])
        #expect(launched.count == 2, "one launch of two instances, not two launches")
        #expect(Set(created.map(\.id.rawValue)) == Set(launched.map(\.id)))
        _ = await provider.destroy(batch: created.map(\.id))
    }

    @Test func userDataCarriesTheEnvironmentAndCommandQuoted() {
        let spec = Self.spec(ServerID("web-3-ab12"), system: "guestbook", ami: "ami-0abc")
        let script = EC2ServerProvider.userData(spec)
        #expect(script.hasPrefix("#!/bin/sh\n"))
        #expect(script.contains("export GREETING='hello world'\n"))
        #expect(!script.contains("web-3-ab12"), "the instances of a launch share the script")
        #expect(script.contains("export PYRE_SERVER=\"$(imds instance-id)\"\n"))
        #expect(script.contains("export PYRE_GENERATION='3'\n"))
        #expect(script.hasSuffix("exec 'python3' 'app.py' 'it'\\''s'\n"))
    }
}
