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
    /// The agent's address in the VPC, where servers reach its events API, syslog over TLS and
    /// DNS; nil: the agent host's primary private address.
    public var agentAddress: String?
    /// The DNS server's port on the agent address; nil: 53 for root, else 5353.
    public var dnsPort: Int?
    /// The syslog-over-TLS port on the agent address; nil: RFC 5425's 6514.
    public var syslogTLSPort: Int?
    /// A certificate of the user's for the agent's services, instead of one from the agent's own CA.
    public var tls: AWSTLSSpec?

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

/// `aws: tls:` — PEM files (resolved against the manifest's directory): the agent's certificate
/// chain and key, and the CA certificate servers are given to check it.
public struct AWSTLSSpec: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var ca: String

    public init(certificate: String, key: String, ca: String) {
        self.certificate = certificate
        self.key = key
        self.ca = ca
    }
}
