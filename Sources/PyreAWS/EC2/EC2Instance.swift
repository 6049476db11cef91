import Foundation

/// An EC2 instance as Pyre reads it from DescribeInstances or RunInstances.
public struct EC2Instance: Sendable, Equatable {
    public var id: String
    public var imageID: String
    public var instanceType: String
    /// `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    public var state: String
    public var privateIP: String?
    public var publicIP: String?
    public var launchTime: Date?
    public var tags: [String: String]

    /// Reads an `instancesSet` `item`.
    init?(_ item: XMLTree) {
        guard let id = item["instanceId"]?.text, !id.isEmpty else { return nil }
        self.id = id
        imageID = item["imageId"]?.text ?? ""
        instanceType = item["instanceType"]?.text ?? ""
        state = item[path: "instanceState", "name"]?.text ?? ""
        privateIP = item["privateIpAddress"]?.text.nonEmpty
        publicIP = item["ipAddress"]?.text.nonEmpty
        launchTime = item["launchTime"]?.text.nonEmpty.flatMap(Self.parseTime)
        tags = EC2Instance.tags(item["tagSet"])
    }

    /// A `tagSet` of `<item><key/><value/></item>`.
    static func tags(_ set: XMLTree?) -> [String: String] {
        var tags: [String: String] = [:]
        for item in set?.all("item") ?? [] {
            if let key = item["key"]?.text { tags[key] = item["value"]?.text ?? "" }
        }
        return tags
    }

    /// EC2 writes `2024-05-01T12:00:00.000Z`, with or without the fraction.
    private static func parseTime(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
