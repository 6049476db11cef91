import Foundation
import Glibc
import PyreCore
import PyreTesting
import Testing
@testable import PyreLocal

@Suite("Provider conformance")
struct ConformanceTests {
    @Test func inMemoryProviderConforms() async throws {
        let provider = InMemoryProvider()
        let image = URL(fileURLWithPath: "/nonexistent/image")
        try await ProviderConformance.run(
            makeProvider: { provider },
            makeSpec: { TestSupport.spec($0, system: "memory", image: image, command: TestSupport.sleeper) },
            persistsAcrossInstances: false)
    }

    @Test func localProviderConformsInProcessMode() async throws {
        try await runConformance(isolation: .process, system: "plt-conform-proc")
    }

    @Test(.enabled(if: getuid() == 0, "namespace isolation needs root"),
          .enabled(if: ExecutableLookup.find("nft") != nil, "namespace isolation needs nftables' nft"))
    func localProviderConformsInNamespaceMode() async throws {
        try await runConformance(isolation: .namespaces, system: "plt-conform-ns")
    }

    private func runConformance(isolation: IsolationMode, system: String) async throws {
        let subnet = "10.213.251.0/24"
        let loopbackPrefix = "127.231"
        try await TestSupport.withProvider(isolation: isolation, system: system, subnet: subnet,
                                           loopbackPrefix: loopbackPrefix) { _, root in
            let image = try TestSupport.makeImage(in: root)
            try await ProviderConformance.run(
                makeProvider: {
                    try TestSupport.makeProvider(isolation: isolation, system: system, root: root, subnet: subnet,
                                                 loopbackPrefix: loopbackPrefix)
                },
                makeSpec: { TestSupport.spec($0, system: system, image: image, command: TestSupport.sleeper) })
        }
    }
}
