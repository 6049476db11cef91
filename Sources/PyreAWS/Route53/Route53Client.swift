import Foundation
import PyreCore

/// The Route 53 calls Pyre's identity layer needs: find or create the system's hosted zone,
/// apply one batch of record changes, and wait until the change is live on every server.
public struct Route53Client: Sendable {
    public var client: AWSClient
    var sleep: @Sendable (Duration) async throws -> Void

    static let version = "2013-04-01"

    public init(client: AWSClient,
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.client = client
        self.sleep = sleep
    }

    /// A VPC a private hosted zone is associated with: only that VPC's resolvers answer from it.
    public struct VPC: Sendable, Equatable {
        public var id: String
        public var region: String

        public init(id: String, region: String) {
            self.id = id
            self.region = region
        }
    }

    /// The id (`Z…`, without `/hostedzone/`) of the zone named `name`, creating it when there
    /// is none: private to `vpc` when given, else public. `callerReference` must be new for
    /// every call: Route 53 uses it to make the retries of one creation safe, and refuses it ever after.
    public func ensureHostedZone(_ name: String, callerReference: String, privateTo vpc: VPC? = nil) async throws -> String {
        let zone = Self.absolute(name)
        func find() async throws -> String? {
            if let vpc { try await findPrivateHostedZone(zone, in: vpc) } else { try await findHostedZone(zone) }
        }
        if let id = try await find() { return id }
        // In the order of the API's schema.
        let association = vpc.map {
            "<VPC><VPCRegion>\(MarkupText.escape($0.region))</VPCRegion><VPCId>\(MarkupText.escape($0.id))</VPCId></VPC>"
        } ?? ""
        let privacy = vpc == nil ? "" : "<HostedZoneConfig><PrivateZone>true</PrivateZone></HostedZoneConfig>"
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/\(Self.version)/">\
            <Name>\(MarkupText.escape(zone))</Name>\(association)\
            <CallerReference>\(MarkupText.escape(callerReference))</CallerReference>\(privacy)</CreateHostedZoneRequest>
            """
        let created: String
        do {
            let answer = try await call("CreateHostedZone", method: "POST", path: "/hostedzone", body: body)
            guard let id = answer[path: "HostedZone", "Id"]?.text.nonEmpty else {
                throw AWSError(kind: .service, message: "the answer names no hosted zone", operation: "Route 53 CreateHostedZone")
            }
            created = Self.bareID(id)
        } catch let error as AWSError where error.code == "HostedZoneAlreadyExists" {
            // A retried creation whose first answer was lost: that first try made the zone.
            guard let id = try await find() else { throw error }
            return id
        }
        // A creation retried after a lost answer can leave two zones of one name where the
        // service does not deduplicate by caller reference (moto); every caller settles on
        // the one listed first, so the system never splits its records across both.
        return try await find() ?? created
    }

    /// The id of the private zone named `name` associated with `vpc`, or nil.
    public func findPrivateHostedZone(_ name: String, in vpc: VPC) async throws -> String? {
        let zone = Self.absolute(name).lowercased()
        let answer = try await call("ListHostedZonesByVPC", method: "GET", path: "/hostedzonesbyvpc",
                                    query: "vpcid=\(PercentEncoding.encode(vpc.id))&vpcregion=\(PercentEncoding.encode(vpc.region))")
        let zones = answer[path: "HostedZoneSummaries"]?.all("HostedZoneSummary") ?? []
        return zones.first { Self.absolute($0["Name"]?.text ?? "").lowercased() == zone }?["HostedZoneId"]
            .map { Self.bareID($0.text) }
    }

    /// The VPCs a private zone is associated with; empty for a public zone.
    public func associatedVPCs(zoneID: String) async throws -> [VPC] {
        let answer = try await call("GetHostedZone", method: "GET", path: "/hostedzone/\(zoneID)")
        return (answer["VPCs"]?.all("VPC") ?? []).compactMap { vpc in
            guard let id = vpc["VPCId"]?.text, let region = vpc["VPCRegion"]?.text else { return nil }
            return VPC(id: id, region: region)
        }
    }

    /// The id of the hosted zone named `name`, or nil.
    public func findHostedZone(_ name: String) async throws -> String? {
        let zone = Self.absolute(name)
        let answer = try await call("ListHostedZonesByName", method: "GET", path: "/hostedzonesbyname",
                                    query: "dnsname=\(PercentEncoding.encode(zone))&maxitems=1")
        // The list starts at `name` in DNS order, so its first zone is another one when `name` has none.
        let first = answer[path: "HostedZones", "HostedZone"]
        guard let first, first["Name"]?.text.lowercased() == zone.lowercased(), let id = first["Id"]?.text else {
            return nil
        }
        return Self.bareID(id)
    }

    /// A change as Route 53 answers it: its id, and whether it is live on every server already.
    public struct ChangeInfo: Sendable, Equatable {
        public var id: String
        public var inSync: Bool
    }

    /// Applies `changes` as one atomic batch.
    public func changeRecordSets(zoneID: String, _ changes: [Route53Change], comment: String? = nil) async throws -> ChangeInfo {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/\(Self.version)/"><ChangeBatch>\
            \(comment.map { "<Comment>\(MarkupText.escape($0))</Comment>" } ?? "")\
            <Changes>\(changes.map(\.xml).joined())</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>
            """
        let answer = try await call("ChangeResourceRecordSets", method: "POST", path: "/hostedzone/\(zoneID)/rrset", body: body)
        guard let id = answer[path: "ChangeInfo", "Id"]?.text.nonEmpty else {
            throw AWSError(kind: .service, message: "the answer names no change", operation: "Route 53 ChangeResourceRecordSets")
        }
        return ChangeInfo(id: Self.bareID(id), inSync: answer[path: "ChangeInfo", "Status"]?.text == "INSYNC")
    }

    /// Polls GetChange every `interval` until the change is `INSYNC`, at most `polls` times.
    public func waitUntilInSync(changeID: String, interval: Duration = .seconds(2), polls: Int = 150) async throws {
        for poll in 1...max(polls, 1) {
            let answer = try await call("GetChange", method: "GET", path: "/change/\(changeID)")
            if answer[path: "ChangeInfo", "Status"]?.text == "INSYNC" { return }
            if poll < polls { try await sleep(interval) }
        }
        throw AWSError(kind: .service, message: "change \(changeID) was not INSYNC after \(polls) polls",
                       advice: "Route 53 is slow to propagate; try the deploy again later", operation: "Route 53 GetChange")
    }

    /// Every record set in the zone, following the list's pages.
    public func listRecordSets(zoneID: String) async throws -> [Route53RecordSet] {
        var sets: [Route53RecordSet] = []
        var start: (name: String, type: String)?
        repeat {
            let query = start.map { "name=\(PercentEncoding.encode($0.name))&type=\($0.type)" } ?? ""
            let answer = try await call("ListResourceRecordSets", method: "GET", path: "/hostedzone/\(zoneID)/rrset",
                                        query: query)
            sets += answer["ResourceRecordSets"]?.all("ResourceRecordSet").map(Route53RecordSet.init) ?? []
            start = answer["IsTruncated"]?.text == "true"
                ? answer["NextRecordName"].flatMap { name in answer["NextRecordType"].map { (name.text, $0.text) } }
                : nil
        } while start != nil
        return sets
    }

    private func call(_ operation: String, method: String, path: String, query: String = "",
                      body: String = "") async throws -> XMLTree {
        let headers: [SigV4Request.Header] = body.isEmpty ? [] : [.init("Content-Type", "text/xml")]
        let response = try await client.send(.route53, operation: operation, method: method,
                                             path: "/\(Self.version)\(path)", query: query, headers: headers,
                                             body: Array(body.utf8))
        return try client.xml(response, service: .route53, operation: operation)
    }

    /// Route 53 names are absolute; it accepts them with or without the final dot.
    static func absolute(_ name: String) -> String {
        name.hasSuffix(".") ? name : name + "."
    }

    /// `/hostedzone/Z123` and `/change/C123` → `Z123`, `C123`.
    static func bareID(_ id: String) -> String {
        id.split(separator: "/").last.map(String.init) ?? id
    }
}
