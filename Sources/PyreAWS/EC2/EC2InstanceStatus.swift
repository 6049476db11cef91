/// An instance's state and EC2's two status checks, from DescribeInstanceStatus.
public struct EC2InstanceStatus: Sendable, Equatable {
    public var id: String
    /// `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    public var state: String
    /// `ok`, `impaired`, `initializing`, `insufficient-data`, `not-applicable`.
    public var systemStatus: String
    public var instanceStatus: String

    public init(id: String, state: String, systemStatus: String, instanceStatus: String) {
        self.id = id
        self.state = state
        self.systemStatus = systemStatus
        self.instanceStatus = instanceStatus
    }

    /// Reads an `instanceStatusSet` `item`.
    init?(_ item: XMLTree) {
        guard let id = item["instanceId"]?.text, !id.isEmpty else { return nil }
        self.id = id
        state = item[path: "instanceState", "name"]?.text ?? ""
        systemStatus = item[path: "systemStatus", "status"]?.text ?? ""
        instanceStatus = item[path: "instanceStatus", "status"]?.text ?? ""
    }

    /// Why the instance cannot serve yet, or nil when it runs and both checks pass.
    public var problem: String? {
        if state != "running" { return "instance is \(state)" }
        if systemStatus != "ok" { return "system status check is \(systemStatus)" }
        if instanceStatus != "ok" { return "instance status check is \(instanceStatus)" }
        return nil
    }
}
