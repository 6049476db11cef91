import Foundation
import PyreCore

/// `aws:` — region, endpoint, instance type, network and health of the AWS provider, and
/// `ami:` of an image — the AMI baked for it in each region.
enum AWSSection {
    static let keys = ["region", "endpoint", "instance_type", "subnet", "vpc", "security_groups", "health",
                       "agent_address", "dns_port", "syslog_tls_port", "tls"]

    static func read(_ value: ManifestValue, directory: URL) throws -> AWSSpec {
        let aws = try value.mapping(expecting: "a mapping such as { region: eu-west-1, instance_type: t3.micro }",
                                    allowedKeys: keys)
        var spec = AWSSpec()
        if let region = aws.optional("region") { spec.region = try readRegion(region) }
        if let endpoint = aws.optional("endpoint") {
            let text = try endpoint.string(expecting: "a URL such as http://127.0.0.1:5000")
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                throw endpoint.error("endpoint must be an http:// or https:// URL, such as http://127.0.0.1:5000")
            }
            spec.endpoint = text
        }
        if let type = aws.optional("instance_type") {
            spec.instanceType = try identifier(type, example: "t3.micro", pattern: { $0.contains(".") })
        }
        if let subnet = aws.optional("subnet") {
            spec.subnet = try identifier(subnet, example: "subnet-0abc123", pattern: { $0.hasPrefix("subnet-") })
        }
        if let vpc = aws.optional("vpc") {
            spec.vpc = try identifier(vpc, example: "vpc-0abc123", pattern: { $0.hasPrefix("vpc-") })
        }
        if let groups = aws.optional("security_groups") {
            let list = try groups.stringList(expecting: "a list of security group ids such as [sg-0abc123]") { [$0] }
            guard list.allSatisfy({ $0.hasPrefix("sg-") && $0.count > 3 }) else {
                throw groups.error("security groups are ids such as sg-0abc123")
            }
            spec.securityGroups = list
        }
        if let health = aws.optional("health") {
            switch try health.string(expecting: "service or instance") {
            case "service": spec.probeServices = true
            case "instance": spec.probeServices = false
            default:
                throw health.error("health must be service (EC2 status checks, then the service's check against the "
                    + "instance address) or instance (EC2 status checks only, for an agent outside the VPC)")
            }
        }
        if let address = aws.optional("agent_address") {
            let text = try address.string(expecting: "an IP address in the VPC such as 10.0.0.5")
            guard LocalAddresses.family(of: text) == AF_INET else {
                throw address.error("agent_address must be an IPv4 address such as 10.0.0.5 (the servers' VPC address "
                    + "of this machine), got \"\(text)\"")
            }
            guard text != "0.0.0.0" else {
                throw address.error("agent_address is where servers reach the agent, so it must be one address such "
                    + "as 10.0.0.5, not \(text) (every address)")
            }
            let local = LocalAddresses.current()
            guard local.mayListen(on: text) else {
                throw address.error("agent_address \(text) is not an address of this machine (it has \(local.listed)); "
                    + "give the address of its interface in the servers' VPC")
            }
            spec.agentAddress = text
        }
        if let port = aws.optional("dns_port") { spec.dnsPort = try port.integer(in: 1...65535, name: "dns_port") }
        if let port = aws.optional("syslog_tls_port") {
            spec.syslogTLSPort = try port.integer(in: 1...65535, name: "syslog_tls_port")
        }
        if let tls = aws.optional("tls") { spec.tls = try readTLS(tls, directory: directory) }
        return spec
    }

    /// `{ certificate: agent.pem, key: agent-key.pem, ca: ca.pem }`; every file must exist.
    private static func readTLS(_ value: ManifestValue, directory: URL) throws -> AWSTLSSpec {
        let tls = try value.mapping(expecting: "a mapping such as { certificate: agent.pem, key: agent-key.pem, ca: ca.pem }",
                                    allowedKeys: ["certificate", "key", "ca"])
        func file(_ name: String) throws -> String {
            try ManifestFiles.existingPEM(tls.required(name), name: name, directory: directory)
        }
        return AWSTLSSpec(certificate: try file("certificate"), key: try file("key"), ca: try file("ca"))
    }

    /// `ami:` of an image: `{ REGION: ami-… }`.
    static func readAMIs(_ value: ManifestValue) throws -> [String: String] {
        let amis = try value.mapping(expecting: "a mapping of regions to AMI ids, e.g. { eu-west-1: ami-0abc123 }")
        var result: [String: String] = [:]
        for entry in amis.entries {
            let region = try readRegion(entry.key)
            result[region] = try identifier(entry.value, example: "ami-0abc123", pattern: { $0.hasPrefix("ami-") && $0.count > 4 })
        }
        return result
    }

    /// `eu-west-1`, `us-gov-east-1`: lowercase words joined by hyphens, ending in a number.
    private static func readRegion(_ value: ManifestValue) throws -> String {
        let text = try value.string(expecting: "an AWS region such as eu-west-1")
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts.dropLast().allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLowercase } }),
              let last = parts.last, !last.isEmpty, last.allSatisfy(\.isNumber) else {
            throw value.error("\"\(text)\" is not an AWS region; write it as AWS does, e.g. eu-west-1")
        }
        return text
    }

    private static func identifier(_ value: ManifestValue, example: String, pattern: (String) -> Bool) throws -> String {
        let text = try value.string(expecting: "an id such as \(example)")
        guard pattern(text), !text.contains(where: \.isWhitespace) else {
            throw value.error("\"\(text)\" does not look like \(example)")
        }
        return text
    }
}
