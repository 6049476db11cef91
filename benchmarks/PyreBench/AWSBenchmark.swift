import Foundation
import Logging
import PyreAWS
import PyreCore
import PyreDeploy
import PyreTesting
import Synchronization

/// Replacing a fleet on moto: Pyre's deploy engine on the EC2 provider with Route 53 as its
/// identity layer, against a straightforward boto3 script (benchmarks/peers/boto3_replace.py)
/// doing the same replacement, in the same run and on the same moto. Each side first
/// launches and publishes `servers` instances (not timed), then replaces them from a new
/// AMI; the figures are the replacement's wall time and API calls.
enum AWSBenchmark {
    static func run(servers: Int, rounds: Int) async throws {
        print("aws: replace \(servers) instances (EC2 + Route 53), \(rounds) rounds, each side on a fresh moto, "
            + "alternating who goes first")
        var pyreTimes: [Double] = [], botoTimes: [Double] = [], pyreCalls: [Int] = [], botoCalls: [Int] = []
        for round in 1...rounds {
            func pyre() async throws {
                let (seconds, count) = try await replaceWithPyre(servers: servers, round: round)
                pyreTimes.append(seconds)
                pyreCalls.append(count)
                print(String(format: "  round %d  pyre    %6.2f s  %4d calls", round, seconds, count))
            }
            func boto() async throws {
                let (seconds, count) = try await replaceWithBoto3(servers: servers)
                botoTimes.append(seconds)
                botoCalls.append(count)
                print(String(format: "  round %d  boto3   %6.2f s  %4d calls", round, seconds, count))
            }
            if round % 2 == 1 { try await pyre(); try await boto() } else { try await boto(); try await pyre() }
        }
        let pyre = median(pyreTimes), boto = median(botoTimes)
        let ratio = pyre / boto
        print(String(format: "  median  pyre %.2f s / boto3 %.2f s = %.2fx  (target <= 1.0: %@)", pyre, boto, ratio,
                     ratio <= 1.0 ? "met" : "MISSED"))
        let fewer = pyreCalls.max()! < botoCalls.min()!
        print("  API calls  pyre \(pyreCalls.max()!) / boto3 \(botoCalls.min()!)  (target fewer: \(fewer ? "met" : "MISSED"))")
    }

    /// Two AMIs moto knows.
    private static func amis(_ moto: MotoServer) async throws -> (String, String) {
        let amis = try await moto.amazonAMIs()
        guard amis.count >= 2 else { throw BenchmarkFailure("moto lists fewer than two AMIs") }
        return (amis[0], amis[1])
    }

    /// Deploys `servers` from the first AMI, then times the redeploy from the second.
    private static func replaceWithPyre(servers: Int, round: Int) async throws -> (Double, Int) {
        let moto = try await MotoServer.startFresh()
        let calls = CallCounter()
        var logger = Logger(label: "bench") { _ in CallCountingHandler(counter: calls) }
        logger.logLevel = .debug
        let client = AWSClient(configuration: moto.configuration(), logger: logger)
        let ec2 = EC2Client(client: client)
        let amis = try await amis(moto)
        let system = "pyre"
        let (oldImage, newImage) = (ImageDigest("sha256:" + String(repeating: "a", count: 64)),
                                    ImageDigest("sha256:" + String(repeating: "b", count: 64)))
        let provider = EC2ServerProvider(ec2: ec2, configuration: .init(system: system))
        let amiOf = [oldImage: amis.0, newImage: amis.1]
        let reconciler = Reconciler(
            configuration: ReconcilerConfiguration(system: system, zone: "\(system).pyre.bench."), provider: provider,
            journal: FakeEventJournal(), health: EC2HealthChecker(provider: provider, probe: nil),
            publisher: Route53Publisher(route53: Route53Client(client: client), zone: "\(system).pyre.bench.", ttl: 5,
                                        logger: logger),
            state: AgentState(), logger: logger)
        func desired(_ image: ImageDigest) -> [DesiredService] {
            let spec = ServiceSpec(name: "web", image: "web", count: servers, port: 8080,
                                   health: HealthCheckSpec(interval: .milliseconds(200), deadline: .seconds(120)), drain: .zero)
            return [DesiredService(spec: spec, image: image, imageLocation: .ami(amiOf[image]!),
                                   command: ["python3", "app.py"], env: [:], configHash: "c")]
        }
        let first = try await reconciler.deploy(desired(oldImage), trigger: .manual) { _ in }
        guard first.outcome == .completed else { throw BenchmarkFailure("pyre's first deploy failed: \(first)") }
        calls.reset()
        let start = ContinuousClock.now
        let second = try await reconciler.deploy(desired(newImage), trigger: .manual) { _ in }
        let seconds = (ContinuousClock.now - start).timeInterval
        guard second.outcome == .completed else { throw BenchmarkFailure("pyre's redeploy failed: \(second)") }
        let count = calls.value
        if round == 1 { print("           pyre's calls: \(calls.breakdown)") }
        let live = try await provider.list()
        guard live.count == servers, live.allSatisfy({ $0.image == newImage }) else {
            throw BenchmarkFailure("after pyre's redeploy \(live.count) servers run, not \(servers) of the new image")
        }
        _ = await provider.destroy(batch: live.map(\.id))
        return (seconds, count)
    }

    private static func replaceWithBoto3(servers: Int) async throws -> (Double, Int) {
        let moto = try await MotoServer.startFresh()
        let amis = try await amis(moto)
        let system = "boto"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/boto3_replace.py")
        guard let python = ExternalTool.path("python3") else { throw BenchmarkFailure("python3 is not installed") }
        let result = try ExternalTool.run(python, [script.path, "--servers", String(servers), "--system", system,
                                                           "--old-ami", amis.0, "--new-ami", amis.1],
                                                environment: moto.environment)
        guard result.status == 0, let line = result.output.split(separator: "\n").last,
              let answer = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let seconds = answer["seconds"] as? Double, let count = answer["calls"] as? Int,
              answer["replaced"] as? Int == servers else {
            throw BenchmarkFailure("the boto3 script failed: \(result.output)")
        }
        return (seconds, count)
    }

}

/// Counts the AWS client's calls by operation from its debug log (one line per answer).
final class CallCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    var value: Int { counts.withLock { $0.values.reduce(0, +) } }
    /// `DescribeInstances×1, RunInstances×1, …`
    var breakdown: String {
        counts.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ") }
    }
    func reset() { counts.withLock { $0 = [:] } }
    func add(_ operation: String) { counts.withLock { $0[operation, default: 0] += 1 } }
}

struct CallCountingHandler: LogHandler {
    let counter: CallCounter
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard ["AWS call", "AWS error"].contains(event.message.description) else { return }
        let operation = event.metadata?["operation"].map { "\($0)" } ?? "?"
        counter.add(operation.split(separator: " ").last.map(String.init) ?? operation)
    }
}
