import PyreCore

/// `aws:` — region, endpoint, instance type, network and health of the AWS provider, and
/// `ami:` of an image — the AMI baked for it in each region.
enum AWSSection {
    static let keys = ["region", "endpoint", "instance_type", "subnet", "vpc", "security_groups", "health"]

    static func read(_ value: ManifestValue) throws -> AWSSpec {
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
        return spec
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
