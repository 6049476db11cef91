import Foundation
import Logging
import PyreTesting
import Testing
@testable import PyreAWS

/// EC2 calls against a real moto_server with authentication on.
@Suite struct EC2ClientTests {
    static func client(_ moto: MotoServer) -> EC2Client {
        EC2Client(client: AWSClient(configuration: moto.configuration(), logger: Logger(label: "test")))
    }

    /// Tests share one moto server, so each tags what it makes with names of its own.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The Amazon AMIs moto ships.
    static func someAMI() async throws -> String {
        try #require(try await MotoServer.shared().amazonAMIs().first)
    }

    @Test func runWithTagsThenFindByTag() async throws {
        let moto = try await MotoServer.shared()
        let ec2 = Self.client(moto)
        let ami = try await Self.someAMI()
        let system = Self.uniqueName("guestbook")
        let tags = ["pyre:system": system, "pyre:service": "web", "pyre:generation": "3"]
        let started = try await ec2.runInstances(.init(imageID: ami, instanceType: "t3.micro", count: 2,
                                                       clientToken: Self.uniqueName("web-3"), userData: "PYRE_SERVICE=web\n",
                                                       tags: tags))
        #expect(started.count == 2)
        #expect(started.allSatisfy { $0.imageID == ami && $0.instanceType == "t3.micro" && $0.tags == tags })
        _ = try await ec2.runInstances(.init(imageID: ami, instanceType: "t3.micro", clientToken: Self.uniqueName("other"),
                                             tags: ["pyre:system": Self.uniqueName("other")]))

        let found = try await ec2.describeInstances(filters: ["tag:pyre:system": [system]])
        #expect(Set(found.map(\.id)) == Set(started.map(\.id)))
        #expect(found.allSatisfy { $0.state == "running" && $0.privateIP != nil && $0.launchTime != nil })
    }

    @Test func describeFollowsEveryPage() async throws {
        let moto = try await MotoServer.shared()
        let ec2 = Self.client(moto)
        let ami = try await Self.someAMI()
        let system = Self.uniqueName("paged")
        var ids: Set<String> = []
        // moto pages by reservation: seven calls make seven reservations, so pages of 5 and 2.
        for index in 0..<7 {
            let started = try await ec2.runInstances(.init(imageID: ami, instanceType: "t3.micro",
                                                           clientToken: "\(system)-\(index)", tags: ["pyre:system": system]))
            ids.formUnion(started.map(\.id))
        }
        let found = try await ec2.describeInstances(filters: ["tag:pyre:system": [system]], pageSize: 5)
        #expect(found.count == 7)
        #expect(Set(found.map(\.id)) == ids)
    }

    @Test func terminateAndRetag() async throws {
        let moto = try await MotoServer.shared()
        let ec2 = Self.client(moto)
        let ami = try await Self.someAMI()
        let system = Self.uniqueName("retag")
        let started = try await ec2.runInstances(.init(imageID: ami, instanceType: "t3.micro", count: 2,
                                                       clientToken: system, tags: ["pyre:system": system]))
        let ids = started.map(\.id)
        try await ec2.createTags([ids[0]], tags: ["pyre:drained": "yes"])
        let drained = try await ec2.describeInstances(filters: ["tag:pyre:system": [system], "tag:pyre:drained": ["yes"]])
        #expect(drained.map(\.id) == [ids[0]])

        let states = try await ec2.terminateInstances(ids)
        #expect(Set(states.keys) == Set(ids))
        let alive = try await ec2.describeInstances(filters: [
            "tag:pyre:system": [system], "instance-state-name": ["pending", "running"],
        ])
        #expect(alive.isEmpty)
    }

    @Test func unknownAMIFailsAtOnceSayingToBake() async throws {
        let moto = try await MotoServer.shared()
        let ec2 = Self.client(moto)
        let error = await #expect(throws: AWSError.self) {
            try await ec2.runInstances(.init(imageID: "ami-00000000000000000", instanceType: "t3.micro",
                                             clientToken: Self.uniqueName("x")))
        }
        #expect(error?.code == "InvalidAMIID.NotFound")
        #expect(error?.description.contains("pyre bake") == true)
    }
}
