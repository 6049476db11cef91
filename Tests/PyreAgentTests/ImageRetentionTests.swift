import Foundation
import Logging
import PyreAPI
import PyreCore
import PyreImages
import PyreTesting
import Testing
@testable import PyreAgent

/// What the agent keeps of its image store: after each deploy the live servers' images and
/// the last `keptDeployments` deployments'; `POST /v1/images/gc` with its own count.
@Suite struct ImageRetentionTests {
    /// An in-process agent (host-OS images, a fake backend) whose layer cache is the test's.
    func withAgent(keptDeployments: Int, _ body: (Agent, URL) async throws -> Void) async throws {
        let backend = FakeBackend()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-agent-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("app"), withIntermediateDirectories: true)
        defer { try? FileTree.remove(directory.path) }
        try Data("release 1\n".utf8).write(to: directory.appendingPathComponent("app/app.py"))
        try """
            system: retention
            images:
              web: { context: ./app, run: [python3, app.py] }
            services:
              web: { image: web, count: 2, port: 8080, drain: 0s, health: { http: /healthz, interval: 50ms } }
            logs: { port: \(try freeLoopbackPort(on: backend.systemAddress)), relp_port: \(try freeLoopbackPort(on: backend.systemAddress)) }
            events: { port: \(try freeLoopbackPort(on: backend.systemAddress)) }
            """.write(to: directory.appendingPathComponent("pyre.yml"), atomically: true, encoding: .utf8)
        var configuration = AgentConfiguration(systemDirectory: directory, isolation: .process, watchInterval: .seconds(3600))
        configuration.keptDeployments = keptDeployments
        configuration.layerCache = directory.appendingPathComponent("layers")
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let agent = try await Agent(configuration: configuration, logger: logger, backend: { _ in backend })
        let running = try RunningAgent(agent: agent, logger: logger)
        do {
            try await running.started()
            try await body(agent, directory)
        } catch {
            await running.stop()
            _ = try? await running.finished()
            throw error
        }
        await running.stop()
        try await running.finished()
    }

    /// Edits the app and deploys it; the digest of the image its servers now run.
    func release(_ number: Int, of agent: Agent, in directory: URL) async throws -> ImageDigest {
        try Data("release \(number)\n".utf8).write(to: directory.appendingPathComponent("app/app.py"))
        let record = try await agent.deploy { _ in }
        #expect(record.outcome == .completed)
        let image = try #require(try await agent.status().services.first?.image)
        return ImageDigest(image)
    }

    func storedImages(_ agent: Agent) async -> Set<ImageDigest> {
        Set(ImageStore(root: await agent.state.images).all().map(\.digest))
    }

    @Test func aDeployKeepsTheImagesOfTheLastDeploymentsForGoingBack() async throws {
        try await withAgent(keptDeployments: 2) { agent, directory in
            let first = try #require(await storedImages(agent).first)
            let second = try await release(2, of: agent, in: directory)
            let third = try await release(3, of: agent, in: directory)
            #expect(Set([first, second, third]).count == 3)
            #expect(await storedImages(agent) == [second, third], "the first release's image is beyond the last two deployments")
            // A phoenix-like redeploy of the same image does not push the second release out.
            let record = try await agent.deploy { _ in }
            #expect(record.outcome == .completed)
            #expect(await storedImages(agent) == [second, third])
        }
    }

    @Test func collectingWithAKeepOfZeroLeavesOnlyWhatRuns() async throws {
        try await withAgent(keptDeployments: 3) { agent, directory in
            let first = try #require(await storedImages(agent).first)
            let second = try await release(2, of: agent, in: directory)
            #expect(await storedImages(agent) == [first, second])
            // A stray layer in the agent's (test) cache that no image uses goes too.
            let cache = directory.appendingPathComponent("layers")
            try FileManager.default.createDirectory(at: cache.appendingPathComponent(".scratch-left-over"), withIntermediateDirectories: true)

            let result = try await agent.collectImages(keepingDeployments: 0)
            #expect(result.removedImages == [first])
            #expect(result.keptImages == [second])
            #expect(await storedImages(agent) == [second])
            #expect(!FileManager.default.fileExists(atPath: cache.appendingPathComponent(".scratch-left-over").path))
            let report = ImageGCReport(result, keptDeployments: 0)
            #expect(report.removedImages == [first.rawValue] && report.inUse == [second.rawValue])
        }
    }
}
