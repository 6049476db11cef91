import Foundation
import Logging
import PyreCore
import PyreDeploy
import PyreTesting

/// The deploy engine alone: providers, health checks and the journal are in memory and
/// answer at once, so the time measured is the engine's own overhead.
enum EngineBenchmark {
    static func run(servers: Int) async throws {
        let provider = InMemoryProvider()
        let health = FakeHealthChecker(provider: provider)
        let reconciler = Reconciler(
            configuration: ReconcilerConfiguration(system: "bench"), provider: provider,
            journal: FakeEventJournal(), health: health, state: AgentState(), logger: Logger(label: "bench"))
        let spec = ServiceSpec(name: "web", image: "web", count: servers, port: 8080,
                               health: HealthCheckSpec(interval: .milliseconds(1), successes: 1),
                               drain: .zero)
        func desired(_ tag: String) -> [DesiredService] {
            [DesiredService(spec: spec, image: ImageDigest("sha256:" + tag), imageLocation: .directory(URL(fileURLWithPath: "/nonexistent")),
                            command: ["true"], env: [:], configHash: "c")]
        }
        let clock = ContinuousClock()
        let create = try await clock.measure {
            _ = try await reconciler.deploy(desired("1"), trigger: .manual) { _ in }
        }
        let replace = try await clock.measure {
            _ = try await reconciler.deploy(desired("2"), trigger: .manual) { _ in }
        }
        let created = provider.created.count
        print("engine: \(servers) servers on the in-memory provider (\(created) created in all)")
        print(String(format: "  create from empty     %8.3f s", create.timeInterval))
        print(String(format: "  blue/green replace    %8.3f s   target < 1 s: %@", replace.timeInterval,
                     replace.timeInterval < 1 ? "met" : "MISSED"))
    }
}

