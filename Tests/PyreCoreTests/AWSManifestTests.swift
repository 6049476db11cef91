import Foundation
import Testing
@testable import PyreCore
@testable import PyreManifest

@Suite struct AWSManifestTests {
    @Test func readsTheAWSSectionAndTheAMIsOfAnImage() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse("""
            system: shop
            provider: aws
            aws:
              region: eu-west-1
              endpoint: http://127.0.0.1:5000
              instance_type: c7g.large
              subnet: subnet-0abc123
              vpc: vpc-0abc123
              security_groups: [sg-0abc123, sg-0def456]
              health: instance
            images:
              web:
                context: ./web
                run: [python3, app.py]
                ami: { eu-west-1: ami-0abc123, us-gov-east-1: ami-0def456 }
            services:
              web:
                image: web
            """)
        #expect(spec.provider == .aws)
        #expect(spec.aws == AWSSpec(region: "eu-west-1", endpoint: "http://127.0.0.1:5000", instanceType: "c7g.large",
                                    subnet: "subnet-0abc123", vpc: "vpc-0abc123", securityGroups: ["sg-0abc123", "sg-0def456"],
                                    probeServices: false))
        #expect(spec.images[0].amis == ["eu-west-1": "ami-0abc123", "us-gov-east-1": "ami-0def456"])
    }

    @Test func withoutAnAWSSectionTheDefaultsHold() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse(minimalManifest)
        #expect(spec.aws == AWSSpec())
        #expect(spec.aws.probeServices && spec.aws.instanceType == "t3.micro")
        #expect(spec.images[0].amis.isEmpty)
    }

    @Test func anAMIIsNamedAsEC2NamesIt() throws {
        let directory = try ManifestDirectory()
        let error = try #require(throws: PyreError.self) {
            try directory.parse(minimalManifest.replacingOccurrences(
                of: "    run: [python3, app.py]\n", with: "    run: [python3, app.py]\n    ami: { eu-west-1: my-image }\n"))
        }
        #expect(error.message == #""my-image" does not look like ami-0abc123"#)
        #expect(error.location?.line == 6)
    }

    @Test func aVPCIsNamedAsEC2NamesIt() throws {
        let directory = try ManifestDirectory()
        let error = try #require(throws: PyreError.self) {
            try directory.parse("system: shop\nprovider: aws\naws:\n  vpc: main\n" + minimalManifest
                .replacingOccurrences(of: "system: shop\n", with: ""))
        }
        #expect(error.message == #""main" does not look like vpc-0abc123"#)
        #expect(error.location?.line == 4)
    }

    private func awsError(_ lines: String) throws -> PyreError {
        let directory = try ManifestDirectory()
        return try #require(throws: PyreError.self) {
            try directory.parse("system: shop\nprovider: aws\naws:\n" + lines + minimalManifest
                .replacingOccurrences(of: "system: shop\n", with: ""))
        }
    }

    @Test func theAgentAddressIsOneAddressOfThisMachine() throws {
        let directory = try ManifestDirectory()
        let spec = try directory.parse("system: shop\nprovider: aws\naws:\n  agent_address: 127.0.0.1\n  dns_port: 5300\n"
            + "  syslog_tls_port: 6600\n" + minimalManifest.replacingOccurrences(of: "system: shop\n", with: ""))
        #expect(spec.aws.agentAddress == "127.0.0.1" && spec.aws.dnsPort == 5300 && spec.aws.syslogTLSPort == 6600)

        let every = try awsError("  agent_address: 0.0.0.0\n")
        #expect(every.message.contains("not 0.0.0.0 (every address)") && every.location?.line == 4)
        let name = try awsError("  agent_address: agent.internal\n")
        #expect(name.message.hasPrefix("agent_address must be an IPv4 address such as 10.0.0.5"), "\(name.message)")
        let six = try awsError("  agent_address: \"::1\"\n")
        #expect(six.message.contains("IPv4"), "\(six.message)")
        // TEST-NET-1 (RFC 5737): never an address of this machine.
        let foreign = try awsError("  agent_address: 192.0.2.1\n")
        #expect(foreign.message.contains("192.0.2.1 is not an address of this machine"), "\(foreign.message)")
        let port = try awsError("  dns_port: 70000\n")
        #expect(port.location?.line == 4)
    }

    @Test func ownTLSFilesMustExist() throws {
        let error = try awsError("  tls: { certificate: agent.pem, key: agent-key.pem, ca: ca.pem }\n")
        #expect(error.message.contains("certificate file") && error.message.contains("agent.pem does not exist"), "\(error.message)")
        let missingCA = try awsError("  tls: { certificate: agent.pem, key: agent-key.pem }\n")
        #expect(missingCA.message.contains("ca"), "\(missingCA.message)")
    }
}
