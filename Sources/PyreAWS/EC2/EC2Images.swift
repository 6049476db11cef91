import Foundation

/// The EC2 calls of an AMI bake: find an image by its tags, register one from a snapshot.
extension EC2Client {
    /// The account's own AMIs matching `filters` (`tag:pyre:image`, `name`), with their tags.
    public func describeOwnImages(filters: [String: [String]]) async throws -> [(id: String, tags: [String: String])] {
        var parameters: [(String, String)] = [("Owner.1", "self")]
        for (index, name) in filters.keys.sorted().enumerated() {
            parameters.append(("Filter.\(index + 1).Name", name))
            parameters += Self.numbered("Filter.\(index + 1).Value", filters[name]!)
        }
        let answer = try await client.query(.ec2, action: "DescribeImages", version: EC2.apiVersion, parameters: parameters)
        return answer["imagesSet"]?.all("item").compactMap { item in
            item["imageId"].map { (id: $0.text, tags: EC2Instance.tags(item["tagSet"])) }
        } ?? []
    }

    /// Registers an x86-64 UEFI AMI whose root device (`/dev/xvda`, gp3, deleted with the
    /// instance) is made from `snapshot`, tagged with `tags`; returns its id.
    public func registerImage(name: String, description: String, snapshot: String,
                              tags: [String: String]) async throws -> String {
        let parameters: [(String, String)] = [
            ("Name", name), ("Description", description), ("Architecture", "x86_64"), ("BootMode", "uefi"),
            ("EnaSupport", "true"), ("VirtualizationType", "hvm"), ("RootDeviceName", "/dev/xvda"),
            ("BlockDeviceMapping.1.DeviceName", "/dev/xvda"), ("BlockDeviceMapping.1.Ebs.SnapshotId", snapshot),
            ("BlockDeviceMapping.1.Ebs.VolumeType", "gp3"), ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true"),
            ("TagSpecification.1.ResourceType", "image"),
        ] + Self.tagParameters(prefix: "TagSpecification.1.Tag", tags)
        let answer = try await client.query(.ec2, action: "RegisterImage", version: EC2.apiVersion, parameters: parameters)
        guard let id = answer["imageId"]?.text else {
            throw AWSError(kind: .service, message: "RegisterImage named no image", operation: "EC2 RegisterImage")
        }
        return id
    }
}
