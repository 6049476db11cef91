/// What Pyre needs to know about one AWS service to reach it.
public struct AWSService: Sendable, Equatable {
    /// The name in the credential scope (`ec2`, `route53`).
    public var signingName: String
    /// Human name for messages (`EC2`).
    public var displayName: String
    /// The suffix of its endpoint override variable: `AWS_ENDPOINT_URL_<suffix>`.
    public var endpointVariableSuffix: String
    /// Global services are signed for us-east-1 and have one endpoint; nil for regional ones.
    public var globalEndpoint: String?

    public static let ec2 = AWSService(signingName: "ec2", displayName: "EC2", endpointVariableSuffix: "EC2",
                                       globalEndpoint: nil)
    public static let route53 = AWSService(signingName: "route53", displayName: "Route 53",
                                           endpointVariableSuffix: "ROUTE_53",
                                           globalEndpoint: "https://route53.amazonaws.com")
    /// EBS direct APIs: snapshots written block by block.
    public static let ebs = AWSService(signingName: "ebs", displayName: "EBS", endpointVariableSuffix: "EBS",
                                       globalEndpoint: nil)
    public static let iam = AWSService(signingName: "iam", displayName: "IAM", endpointVariableSuffix: "IAM",
                                       globalEndpoint: "https://iam.amazonaws.com")

    /// The region a request is signed for.
    func signingRegion(_ region: String) -> String {
        globalEndpoint == nil ? region : "us-east-1"
    }

    func defaultEndpoint(region: String) -> String {
        globalEndpoint ?? "https://\(signingName).\(region).amazonaws.com"
    }
}
