/// Which VPC the system's servers run in: the one its private hosted zone is associated with.
extension EC2Client {
    /// `vpc` when pyre.yml names it, else the VPC of the servers' `subnet`, else the region's
    /// default VPC (where EC2 starts instances given no subnet).
    public func systemVPC(vpc: String?, subnet: String?) async throws -> String {
        if let vpc { return vpc }
        if let subnet {
            let answer = try await client.query(.ec2, action: "DescribeSubnets", version: EC2.apiVersion,
                                                parameters: Self.numbered("SubnetId", [subnet]))
            guard let id = answer["subnetSet"]?.all("item").first?["vpcId"]?.text, !id.isEmpty else {
                throw AWSError.configuration("subnet \(subnet) (aws: subnet) is not in region \(client.configuration.region)")
            }
            return id
        }
        let answer = try await client.query(.ec2, action: "DescribeVpcs", version: EC2.apiVersion, parameters: [
            ("Filter.1.Name", "isDefault"), ("Filter.1.Value.1", "true"),
        ])
        guard let id = answer["vpcSet"]?.all("item").first?["vpcId"]?.text, !id.isEmpty else {
            throw AWSError.configuration("region \(client.configuration.region) has no default VPC: name the servers' "
                + "VPC with aws: vpc (or a subnet with aws: subnet) in pyre.yml")
        }
        return id
    }
}
