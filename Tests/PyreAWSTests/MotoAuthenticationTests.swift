import Foundation
import Logging
import PyreTesting
import Testing
@testable import PyreAWS

/// Signed calls against a real moto_server that checks signatures (see ``MotoServer``).
@Suite struct MotoAuthenticationTests {
    @Test func correctlySignedCallsSucceed() async throws {
        let moto = try await MotoServer.shared()
        let client = AWSClient(configuration: moto.configuration(), logger: Logger(label: "test"))
        let regions = try await client.query(.ec2, action: "DescribeRegions", version: EC2.apiVersion)
        let names = regions["regionInfo"]?.all("item").compactMap { $0["regionName"]?.text } ?? []
        #expect(names.contains("us-east-1"))
        let instances = try await client.query(.ec2, action: "DescribeInstances", version: EC2.apiVersion)
        #expect(instances.name == "DescribeInstancesResponse")
        #expect(instances["reservationSet"] != nil)
    }

    @Test func wrongSecretKeyIsAClearAuthenticationError() async throws {
        let moto = try await MotoServer.shared()
        let wrong = AWSCredentials(accessKeyID: moto.credentials.accessKeyID, secretAccessKey: "not-the-secret-key")
        let tries = Recorder(0)
        let retrier = Retrier(sleep: { _ in tries.update { $0 += 1 } })
        let client = AWSClient(configuration: moto.configuration(credentials: wrong), logger: Logger(label: "test"),
                               retrier: retrier)
        let error = await #expect(throws: AWSError.self) {
            try await client.query(.ec2, action: "DescribeInstances", version: EC2.apiVersion)
        }
        #expect(error?.kind == .service)
        #expect(error?.code == "AuthFailure")
        #expect(error?.httpStatus == 401)
        #expect(error?.description.hasPrefix("EC2 DescribeInstances failed: AuthFailure") == true)
        #expect(error?.description.contains("Check the AWS credentials") == true)
        #expect(error?.description.contains("not-the-secret-key") == false)
        // A lost connection to a busy moto may be retried first; the authentication failure itself never is.
        #expect(error.map { RetryPolicy().delay(after: $0, attempt: 1, jitter: 0) } == .some(nil),
                "an authentication failure is not retried")
    }

    @Test func unknownAccessKeyIsRejected() async throws {
        let moto = try await MotoServer.shared()
        let stranger = AWSCredentials(accessKeyID: "AKIDNOTAUSER0000000", secretAccessKey: "whatever")
        let client = AWSClient(configuration: moto.configuration(credentials: stranger), logger: Logger(label: "test"))
        let error = await #expect(throws: AWSError.self) {
            try await client.query(.ec2, action: "DescribeRegions", version: EC2.apiVersion)
        }
        #expect(error?.code == "AuthFailure")
        #expect(error?.advice?.contains("AWS_ACCESS_KEY_ID") == true)
    }

    @Test func debugLogsNeverHoldTheSecret() async throws {
        let moto = try await MotoServer.shared()
        let lines = Recorder<[String]>([])
        var logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        logger.logLevel = .trace
        let good = AWSClient(configuration: moto.configuration(), logger: logger)
        _ = try await good.query(.ec2, action: "DescribeRegions", version: EC2.apiVersion)
        var bad = moto.configuration()
        bad.credentials?.secretAccessKey = "wrong-secret-for-logs"
        _ = try? await AWSClient(configuration: bad, logger: logger)
            .query(.ec2, action: "DescribeRegions", version: EC2.apiVersion)
        let text = lines.value.joined(separator: "\n")
        #expect(text.contains("DescribeRegions"))
        #expect(!text.contains(moto.credentials.secretAccessKey))
        #expect(!text.contains("wrong-secret-for-logs"))
    }
}

/// Keeps every message and its metadata as text.
struct CapturingLogHandler: LogHandler {
    let lines: Recorder<[String]>
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        lines.update { $0.append("\(event.level) \(event.message) \(all)") }
    }
}
