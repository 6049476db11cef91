import Foundation
import PyreCore

func digest(_ character: Character) -> ImageDigest {
    ImageDigest("sha256:" + String(repeating: character, count: 64))
}

/// A service with fast health checks and no drain, so tests run quickly.
func serviceSpec(_ name: String = "web", count: Int = 3, strategy: RolloutStrategy = RolloutStrategy(),
                 maxAge: Duration? = nil, failures: Int = 3, deadline: Duration = .milliseconds(300)) -> ServiceSpec {
    ServiceSpec(name: name, image: name, count: count, port: 8080,
                health: HealthCheckSpec(probe: .http(path: "/healthz"), interval: .milliseconds(10),
                                        timeout: .milliseconds(100), successes: 1, failures: failures,
                                        deadline: deadline),
                strategy: strategy, maxAge: maxAge, drain: .zero)
}

func desired(_ spec: ServiceSpec, image: Character = "a", config: String = "config-1") -> DesiredService {
    DesiredService(spec: spec, image: digest(image), imageLocation: .directory(URL(fileURLWithPath: "/images/\(image)")),
                   command: ["app"], env: [:], configHash: config)
}

func serverInfo(_ id: String, service: String = "web", image: Character = "a", config: String = "config-1",
                createdAt: Date = Date(), state: ServerInfo.State = .running) -> ServerInfo {
    // The generation is the id's middle part, as `ServerID.make` writes it.
    let generation = Int(id.split(separator: "-").dropFirst().first ?? "") ?? 1
    return ServerInfo(id: ServerID(id), service: service, generation: generation, image: digest(image), configHash: config,
               address: "127.0.0.2", port: 8080, createdAt: createdAt, state: state)
}

func observed(_ info: ServerInfo, healthy: Bool? = true, failing: Bool = false) -> ObservedServer {
    ObservedServer(info: info, healthy: healthy, failing: failing)
}
