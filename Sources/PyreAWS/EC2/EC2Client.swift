import Foundation

/// The EC2 calls Pyre needs: run, list, terminate and tag instances.
public struct EC2Client: Sendable {
    public var client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    /// What RunInstances needs for `count` identical instances.
    public struct Launch: Sendable, Equatable {
        public var imageID: String
        public var instanceType: String
        public var count: Int
        /// Makes the call idempotent: EC2 answers a repeat with the same token with the
        /// instances of the first call instead of starting new ones.
        public var clientToken: String
        public var subnetID: String?
        public var securityGroupIDs: [String]
        /// Text the instance receives as user data (sent base64-encoded).
        public var userData: String?
        /// Set on the instances as they are created, so none exists untagged.
        public var tags: [String: String]

        public init(imageID: String, instanceType: String, count: Int = 1, clientToken: String,
                    subnetID: String? = nil, securityGroupIDs: [String] = [], userData: String? = nil,
                    tags: [String: String] = [:]) {
            self.imageID = imageID
            self.instanceType = instanceType
            self.count = count
            self.clientToken = clientToken
            self.subnetID = subnetID
            self.securityGroupIDs = securityGroupIDs
            self.userData = userData
            self.tags = tags
        }
    }

    /// Starts the instances and returns them as EC2 first reports them (usually `pending`).
    public func runInstances(_ launch: Launch) async throws -> [EC2Instance] {
        var parameters = [
            ("ImageId", launch.imageID), ("InstanceType", launch.instanceType),
            ("MinCount", String(launch.count)), ("MaxCount", String(launch.count)),
            ("ClientToken", launch.clientToken),
        ]
        if let subnet = launch.subnetID { parameters.append(("SubnetId", subnet)) }
        parameters += Self.numbered("SecurityGroupId", launch.securityGroupIDs)
        if let userData = launch.userData { parameters.append(("UserData", Data(userData.utf8).base64EncodedString())) }
        if !launch.tags.isEmpty {
            parameters.append(("TagSpecification.1.ResourceType", "instance"))
            parameters += Self.tagParameters(prefix: "TagSpecification.1.Tag", launch.tags)
        }
        let answer = try await client.query(.ec2, action: "RunInstances", version: EC2.apiVersion, parameters: parameters)
        return answer["instancesSet"]?.all("item").compactMap(EC2Instance.init) ?? []
    }

    /// Every instance matching all `filters` (name → accepted values; `tag:KEY` filters on a
    /// tag), following `nextToken` through every page of at most `pageSize` reservations.
    public func describeInstances(filters: [String: [String]], pageSize: Int = 1000) async throws -> [EC2Instance] {
        var base: [(String, String)] = [("MaxResults", String(pageSize))]
        for (index, name) in filters.keys.sorted().enumerated() {
            base.append(("Filter.\(index + 1).Name", name))
            base += Self.numbered("Filter.\(index + 1).Value", filters[name]!)
        }
        var instances: [EC2Instance] = []
        var token: String?
        repeat {
            let answer = try await client.query(.ec2, action: "DescribeInstances", version: EC2.apiVersion,
                                                parameters: base + (token.map { [("NextToken", $0)] } ?? []))
            for reservation in answer["reservationSet"]?.all("item") ?? [] {
                instances += reservation["instancesSet"]?.all("item").compactMap(EC2Instance.init) ?? []
            }
            token = answer["nextToken"]?.text.nonEmpty
        } while token != nil
        return instances
    }

    /// State and status checks of the instances, stopped ones included. An id EC2 does not
    /// know fails the call (`InvalidInstanceID.NotFound`).
    public func describeInstanceStatus(_ ids: [String]) async throws -> [EC2InstanceStatus] {
        guard !ids.isEmpty else { return [] }
        var statuses: [EC2InstanceStatus] = []
        var token: String?
        repeat {
            let answer = try await client.query(.ec2, action: "DescribeInstanceStatus", version: EC2.apiVersion,
                                                parameters: [("IncludeAllInstances", "true")] + Self.numbered("InstanceId", ids)
                                                    + (token.map { [("NextToken", $0)] } ?? []))
            statuses += answer["instanceStatusSet"]?.all("item").compactMap(EC2InstanceStatus.init) ?? []
            token = answer["nextToken"]?.text.nonEmpty
        } while token != nil
        return statuses
    }

    /// Asks EC2 to terminate the instances; returns each one's state after the call
    /// (`shutting-down`, or `terminated` for one already gone).
    @discardableResult
    public func terminateInstances(_ ids: [String]) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let answer = try await client.query(.ec2, action: "TerminateInstances", version: EC2.apiVersion,
                                            parameters: Self.numbered("InstanceId", ids))
        var states: [String: String] = [:]
        for item in answer["instancesSet"]?.all("item") ?? [] {
            if let id = item["instanceId"]?.text { states[id] = item[path: "currentState", "name"]?.text ?? "" }
        }
        return states
    }

    /// The AMIs with these ids and their tags. An id EC2 does not know fails the call
    /// (`InvalidAMIID.NotFound`).
    public func describeImages(_ ids: [String]) async throws -> [(id: String, tags: [String: String])] {
        guard !ids.isEmpty else { return [] }
        let answer = try await client.query(.ec2, action: "DescribeImages", version: EC2.apiVersion,
                                            parameters: Self.numbered("ImageId", ids))
        return answer["imagesSet"]?.all("item").compactMap { item in
            item["imageId"].map { (id: $0.text, tags: EC2Instance.tags(item["tagSet"])) }
        } ?? []
    }

    /// The user data an instance was started with, decoded; nil when it has none.
    public func userData(of instanceID: String) async throws -> String? {
        let answer = try await client.query(.ec2, action: "DescribeInstanceAttribute", version: EC2.apiVersion,
                                            parameters: [("InstanceId", instanceID), ("Attribute", "userData")])
        guard let encoded = answer["userData"]?["value"]?.text, let data = Data(base64Encoded: encoded) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Adds or overwrites tags on resources (instances, AMIs).
    public func createTags(_ resourceIDs: [String], tags: [String: String]) async throws {
        guard !resourceIDs.isEmpty, !tags.isEmpty else { return }
        _ = try await client.query(.ec2, action: "CreateTags", version: EC2.apiVersion,
                                   parameters: Self.numbered("ResourceId", resourceIDs) + Self.tagParameters(prefix: "Tag", tags))
    }

    /// The Query protocol's lists: `Name.1`, `Name.2`, …
    static func numbered(_ name: String, _ values: [String]) -> [(String, String)] {
        values.enumerated().map { ("\(name).\($0.offset + 1)", $0.element) }
    }

    /// `PREFIX.N.Key` / `PREFIX.N.Value`, in key order so a request is the same every time.
    static func tagParameters(prefix: String, _ tags: [String: String]) -> [(String, String)] {
        tags.keys.sorted().enumerated().flatMap { index, key in
            [("\(prefix).\(index + 1).Key", key), ("\(prefix).\(index + 1).Value", tags[key]!)]
        }
    }
}
