import Foundation
import Logging
import PyreCore
import PyreDeploy
import PyreHealth
import PyreImages
import PyreLocal
import PyreTesting

/// Blue/green replacement of a fleet on the real local provider, against its floor: one
/// server's start-to-healthy time plus the drain period, measured in the same run.
enum LocalBenchmark {
    static let drain = Duration.seconds(1)
    /// The system's own interpreter with `-S -I` (no site or user packages): a version manager's shim (pyenv's costs about
    /// 0.2 s of CPU per start) would measure the interpreter's start-up, not Pyre.
    static let command = [FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3",
                          "-S", "-I", "server.py"]
    static let health = HealthCheckSpec(probe: .http(path: "/healthz"), interval: .milliseconds(50),
                                        timeout: .seconds(2), successes: 1, deadline: .seconds(60))

    static func run(servers: Int, isolation: IsolationMode, verbose: Bool) async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-bench-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let store = ImageStore(root: work.appendingPathComponent("images"))
        let baker = ImageBaker(store: store, logger: logger)
        let v1 = try await bake(baker, work: work, version: "v1")
        let v2 = try await bake(baker, work: work, version: "v2")
        let system = "bench\(isolation == .namespaces ? "ns" : "pr")"
        var configuration = LocalProviderConfiguration(system: system, serversDirectory: work.appendingPathComponent("servers"),
                                                       isolation: isolation)
        configuration.subnet = "10.213.240.0/24"
        let provider = try LocalProvider(configuration: configuration, logger: logger)
        try await provider.prepare()
        do {
            let checker = NetworkHealthChecker()
            let floor = try await measureFloor(provider: provider, checker: checker, image: v1, system: system)
            let reconciler = Reconciler(configuration: ReconcilerConfiguration(system: system), provider: provider,
                                        journal: FakeEventJournal(), health: checker, state: AgentState(), logger: logger)
            let spec = ServiceSpec(name: "web", image: "web", count: servers, port: 8080, health: health,
                                   strategy: RolloutStrategy(), drain: drain)
            func desired(_ image: BakedImage) -> [DesiredService] {
                [DesiredService(spec: spec, image: image.digest, imageLocation: .directory(image.root), command: command,
                                env: [:], configHash: "bench")]
            }
            _ = try await reconciler.deploy(desired(v1), trigger: .manual) { _ in }
            let replace = try await ContinuousClock().measure {
                let start = ContinuousClock.now
                let record = try await reconciler.deploy(desired(v2), trigger: .manual) { event in
                    if verbose { print(String(format: "%7.3f  ", (ContinuousClock.now - start).timeInterval), event) }
                }
                guard record.outcome == .completed else { throw PyreError(.deploy, "benchmark deploy failed: \(record.reason ?? "")") }
            }
            _ = try await reconciler.deploy([], trigger: .manual) { _ in }
            print("local provider, \(isolation.rawValue) mode: blue/green replacement of \(servers) servers")
            print(String(format: "  floor (start-to-healthy %.3f s + drain %.3f s)  %8.3f s", floor.timeInterval, drain.timeInterval,
                         (floor + drain).timeInterval))
            print(String(format: "  replacement, deploy start to last old destroyed   %8.3f s", replace.timeInterval))
            let ratio = replace.timeInterval / (floor + drain).timeInterval
            print(String(format: "  ratio %.2f×  target ≤ 1.5×: %@", ratio, ratio <= 1.5 ? "met" : "MISSED"))
        } catch {
            try? await provider.teardown()
            throw error
        }
        try await provider.teardown()
    }

    /// One server, created and polled at the same health interval the rollout uses.
    static func measureFloor(provider: LocalProvider, checker: NetworkHealthChecker, image: BakedImage,
                             system: String) async throws -> Duration {
        let id = ServerID.make(service: "floor", generation: 1)
        let clock = ContinuousClock()
        let start = clock.now
        let info = try await provider.create(ServerSpec(
            id: id, system: system, service: "floor", generation: 1, image: image.digest, imageLocation: .directory(image.root),
            command: command, env: [:], port: 8080, configHash: "bench", zone: "\(system).pyre."))
        while case .fail = await checker.check(address: info.address, port: info.port, spec: health) {
            try await Task.sleep(for: health.interval)
        }
        let elapsed = clock.now - start
        try await provider.destroy(id)
        return elapsed
    }

    static func bake(_ baker: ImageBaker, work: URL, version: String) async throws -> BakedImage {
        let context = work.appendingPathComponent("context-\(version)")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        try serverScript.replacingOccurrences(of: "VERSION", with: version)
            .write(to: context.appendingPathComponent("server.py"), atomically: true, encoding: .utf8)
        return try await baker.bake(ImageRecipe(name: "web", context: context, run: command))
    }

    /// A minimal HTTP responder on Python's built-in `_socket`: importing `socket` (and with it
    /// `enum` and `selectors`) would triple each start's CPU time to about 27 ms, and 20 such
    /// starts on two cores would measure Python's imports, not Pyre.
    static let serverScript = """
    # image VERSION
    import _socket, posix
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    s.bind((posix.environ[b"PYRE_ADDRESS"].decode(), int(posix.environ[b"PORT"])))
    s.listen(64)
    while True:
        fd, _ = s._accept()
        c = _socket.socket(fileno=fd)
        c.recv(4096)
        c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
        c.close()
    """
}
