import Foundation
import Testing
@testable import PyreCore

@Suite struct ServerEnvironmentTests {
    static let recipe = ImageRecipe(name: "web", context: URL(fileURLWithPath: "/app"), run: ["app"],
                                    env: ["MODE": "image", "LANG": "C"])
    static let service = ServiceSpec(name: "web", image: "web", env: ["MODE": "service"])

    static func desired(agent: [String: String]) -> DesiredService {
        DesiredService(spec: service, recipe: recipe, image: ImageDigest("sha256:" + String(repeating: "ab", count: 32)),
                       imageLocation: .directory(URL(fileURLWithPath: "/images/web")), zone: "shop.pyre.", agentServices: agent)
    }

    @Test func layersWinInOrderAndTheProviderAddsTheServersIdentity() {
        let desired = Self.desired(agent: ["PYRE_DNS": "10.0.0.1:53", "MODE": "agent"])
        #expect(desired.env == ["MODE": "agent", "LANG": "C", "PYRE_DNS": "10.0.0.1:53"])
        let spec = ServerSpec(id: ServerID("web-2-ab12"), system: "shop", service: "web", generation: 2, image: desired.image,
                              imageLocation: desired.imageLocation, command: desired.command, env: desired.env, port: 8080,
                              configHash: desired.configHash, zone: "shop.pyre.")
        let local = ServerEnvironment.variables(for: spec, address: "127.0.0.2")
        #expect(local["PYRE_SERVER"] == "web-2-ab12")
        #expect(local["PYRE_ADDRESS"] == "127.0.0.2")
        #expect(local["PORT"] == "8080" && local["PYRE_GENERATION"] == "2" && local["PYRE_DNS"] == "10.0.0.1:53")
        // A server that learns its id and address at boot gets neither here.
        let booting = ServerEnvironment.variables(for: spec, address: nil)
        #expect(booting["PYRE_SERVER"] == nil && booting["PYRE_ADDRESS"] == nil)
        #expect(booting.count == local.count - 2)
    }

    /// A server told where the agent's services were is stale once they move.
    @Test func theConfigHashCoversWhereTheAgentsServicesAre() {
        let before = Self.desired(agent: ["PYRE_LOGS": "10.0.0.1:514"])
        let moved = Self.desired(agent: ["PYRE_LOGS": "10.0.0.1:1514"])
        #expect(before.configHash != moved.configHash)
        #expect(before.configParts["env.PYRE_LOGS"] != moved.configParts["env.PYRE_LOGS"])
        #expect(before.configHash == Self.desired(agent: ["PYRE_LOGS": "10.0.0.1:514"]).configHash)
    }
}
