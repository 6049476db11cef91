import Foundation
import PyreAPI
import PyreCore
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `pyre image ls`, `gc` and `export` with the real binary: through the running agent, and
/// from the agent's journal when none runs. Each test has a layer cache of its own.
@Suite struct ImageCommandTests {
    struct Listing: Decodable {
        struct Image: Decodable {
            var digest: String
            var base: String?
            var layers: [String]
            var in_use: Bool?
        }

        struct Layer: Decodable {
            var key: String
            var images: Int?
        }

        var images: [Image]
        var layers: [Layer]
    }

    func decode<T: Decodable>(_ type: T.Type, _ result: CommandResult) throws -> T {
        guard result.status == 0 else { throw TestFailure("pyre failed (\(result.status)): \(result.output)") }
        return try JSONDecoder.pyre.decode(T.self, from: Data(result.output.utf8))
    }

    @Test func gcKeepsWhatTheLastDeploymentsRanWithAndWithoutTheAgent() async throws {
        let system = try TestSystem(name: "imagegc", service: "count: 1")
        defer { system.cleanUp() }
        let environment = ["PYRE_LAYER_CACHE": system.directory.appendingPathComponent("layers").path]
        let agent = try AgentProcess(system, isolation: "process", environment: environment)
        defer { agent.terminate() }
        var releases: [String] = []
        releases.append(try #require(try await agent.waitForHealthy(count: 1).first?.image))
        for version in ["v2", "v3"] {
            try system.setVersion(version)
            let deployed = try await pyre(["deploy", system.directory.path], environment: environment)
            #expect(deployed.status == 0, "\(deployed.output)")
            releases.append(try #require(try await agent.waitForHealthy(count: 1).first?.image))
        }
        #expect(Set(releases).count == 3)

        let listing = try decode(Listing.self, try await pyre(["image", "ls", system.directory.path, "--json"], environment: environment))
        #expect(Set(listing.images.map(\.digest)) == Set(releases), "the agent keeps the last 3 deployments' images")
        #expect(listing.images.first { $0.digest == releases[2] }?.in_use == true)
        #expect(listing.images.first { $0.digest == releases[0] }?.in_use == false)
        #expect(listing.images.allSatisfy { $0.base == nil }, "host-OS images")

        // Through the agent: keep the last deployment only.
        let online = try decode(ImageGCReport.self,
                                try await pyre(["image", "gc", system.directory.path, "--keep", "1", "--json"], environment: environment))
        #expect(Set(online.removedImages) == Set(releases[0...1]))
        #expect(online.inUse == [releases[2]])

        try system.setVersion("v4")
        let baked = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(baked.status == 0, "\(baked.output)")
        try await agent.stop()

        // Without an agent: the journal still says what the deployments ran; an image baked but
        // never deployed goes.
        let offline = try decode(ImageGCReport.self,
                                 try await pyre(["image", "gc", system.directory.path, "--json"], environment: environment))
        #expect(offline.inUse == [releases[2]])
        #expect(offline.removedImages.count == 1 && !offline.removedImages.contains(releases[2]), "\(offline)")
        let none = try decode(ImageGCReport.self,
                              try await pyre(["image", "gc", system.directory.path, "--keep", "0", "--json"], environment: environment))
        #expect(none.removedImages == [releases[2]], "no live server, no deployment kept")
        let empty = try decode(Listing.self, try await pyre(["image", "ls", system.directory.path, "--json"], environment: environment))
        #expect(empty.images.isEmpty)
        #expect(empty.images.allSatisfy { $0.in_use == nil }, "no agent runs")
    }

    @Test(.enabled(if: getuid() == 0, "baking a whole-server image needs root"),
          .enabled(if: TinyRootfs.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"),
                   "needs busybox-static and skopeo"))
    func exportWritesALayoutSkopeoReadsAndLsCountsTheLayers() async throws {
        let system = try TestSystem(name: "imageexp", service: "count: 1",
                                    image: "base: { rootfs: ./base.tar }\n    user: app")
        defer { system.cleanUp() }
        try TinyRootfs.make(at: system.directory.appendingPathComponent("base.tar"))
        let environment = ["PYRE_LAYER_CACHE": system.directory.appendingPathComponent("layers").path]
        let layout = system.directory.appendingPathComponent("layout")
        let exported = try await pyre(["image", "export", "web", "--oci", layout.path, system.directory.path], environment: environment)
        #expect(exported.status == 0, "\(exported.output)")
        #expect(exported.output.contains("exported to \(layout.path)"), "\(exported.output)")
        let inspected = try await runTool("/usr/bin/skopeo", ["inspect", "--config", "oci:\(layout.path):latest"], includeErrors: true)
        #expect(inspected.status == 0, "\(inspected.output)")
        #expect(inspected.output.contains(#""Cmd":["python3","app.py"]"#) || inspected.output.contains("\"python3\""), "\(inspected.output)")

        let listing = try decode(Listing.self, try await pyre(["image", "ls", system.directory.path, "--json"], environment: environment))
        let image = try #require(listing.images.first)
        #expect(image.base == "rootfs base.tar")
        #expect(image.layers.count == 3, "base, user, context")
        #expect(Set(listing.layers.map(\.key)) == Set(image.layers))
        #expect(listing.layers.allSatisfy { $0.images == 1 })

        // By digest prefix, into a second layout: the same manifest.
        let again = system.directory.appendingPathComponent("again")
        let byDigest = try await pyre(["image", "export", String(image.digest.dropFirst(7).prefix(10)), "--oci", again.path,
                                       system.directory.path], environment: environment)
        #expect(byDigest.status == 0, "\(byDigest.output)")
        #expect(try Data(contentsOf: layout.appendingPathComponent("index.json")) == Data(contentsOf: again.appendingPathComponent("index.json")))
    }
}
