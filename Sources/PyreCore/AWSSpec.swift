/// `aws:` in pyre.yml: how the AWS provider starts and checks instances. Credentials never
/// go here; they come from the environment or the AWS profile, as for the AWS CLI.
public struct AWSSpec: Sendable, Equatable {
    /// Overrides `AWS_REGION` and the profile's region.
    public var region: String?
    /// One endpoint for every AWS service (moto, LocalStack); overrides `AWS_ENDPOINT_URL`.
    public var endpoint: String?
    public var instanceType: String
    public var subnet: String?
    /// The servers' VPC, which the system's private hosted zone is associated with; nil: the
    /// subnet's VPC, or the region's default VPC.
    public var vpc: String?
    public var securityGroups: [String]
    /// Whether the agent can reach the instances' private addresses, so the service's own
    /// health check runs against them after EC2's status checks (`health: service`).
    public var probeServices: Bool

    public init(region: String? = nil, endpoint: String? = nil, instanceType: String = "t3.micro",
                subnet: String? = nil, vpc: String? = nil, securityGroups: [String] = [], probeServices: Bool = true) {
        self.region = region
        self.endpoint = endpoint
        self.instanceType = instanceType
        self.subnet = subnet
        self.vpc = vpc
        self.securityGroups = securityGroups
        self.probeServices = probeServices
    }
}
