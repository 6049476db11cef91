import Crypto
import Foundation

/// The EBS direct APIs (REST with JSON) Pyre writes an AMI's snapshot with: a snapshot is
/// started, written in blocks of 512 KiB each with its SHA-256, and completed with the
/// checksum of all of them.
public struct EBSClient: Sendable {
    public var client: AWSClient

    /// EBS direct's block size, the same for every snapshot.
    public static let blockSize = 512 * 1024

    public init(client: AWSClient) {
        self.client = client
    }

    public struct Snapshot: Sendable, Equatable {
        public var id: String
        public var status: String
    }

    /// Starts a snapshot of a volume of `gibibytes`; the same `clientToken` gives the same
    /// snapshot back (a retried start makes no second one).
    public func startSnapshot(gibibytes: Int, description: String, tags: [String: String], clientToken: String,
                              timeoutMinutes: Int = 60) async throws -> Snapshot {
        let request: [String: Any] = [
            "VolumeSize": gibibytes, "Description": description, "ClientToken": clientToken, "Timeout": timeoutMinutes,
            "Tags": tags.sorted { $0.key < $1.key }.map { ["Key": $0.key, "Value": $0.value] },
        ]
        let body = try JSONSerialization.data(withJSONObject: request, options: [.sortedKeys])
        let response = try await client.send(.ebs, operation: "StartSnapshot", method: "POST", path: "/snapshots",
                                             headers: [.init("Content-Type", "application/json")], body: Array(body))
        let answer = try Self.json(response, operation: "StartSnapshot")
        guard let id = answer["SnapshotId"] as? String else {
            throw AWSError(kind: .service, message: "the answer names no snapshot", requestID: response.requestID,
                           httpStatus: response.status, operation: "EBS StartSnapshot")
        }
        return Snapshot(id: id, status: answer["Status"] as? String ?? "pending")
    }

    /// Writes block `index` (``blockSize`` bytes) with its base64 SHA-256, which EBS checks. The
    /// signature covers that checksum header rather than a second hash of the body, as the API
    /// allows (its model's `v4-unsigned-body`): one SHA-256 of each block, not two, on both ends.
    public func putSnapshotBlock(_ snapshot: String, index: Int, data: [UInt8], checksum: String) async throws {
        _ = try await client.send(.ebs, operation: "PutSnapshotBlock", method: "PUT", path: "/snapshots/\(snapshot)/blocks/\(index)",
                                  headers: [.init("Content-Type", "application/octet-stream"),
                                            .init("x-amz-Data-Length", "\(data.count)"),
                                            .init("x-amz-Checksum", checksum),
                                            .init("x-amz-Checksum-Algorithm", "SHA256")],
                                  body: data, unsignedPayload: true)
    }

    /// Seals the snapshot: `changedBlocks` written, `aggregateChecksum` the base64 SHA-256 of their
    /// checksums (decoded) in block order.
    public func completeSnapshot(_ snapshot: String, changedBlocks: Int, aggregateChecksum: String) async throws {
        _ = try await client.send(.ebs, operation: "CompleteSnapshot", method: "POST", path: "/snapshots/completion/\(snapshot)",
                                  headers: [.init("x-amz-ChangedBlocksCount", "\(changedBlocks)"),
                                            .init("x-amz-Checksum", aggregateChecksum),
                                            .init("x-amz-Checksum-Algorithm", "SHA256"),
                                            .init("x-amz-Checksum-Aggregation-Method", "LINEAR")])
    }

    /// The written blocks of a snapshot: index and the token that reads it.
    public func listSnapshotBlocks(_ snapshot: String) async throws -> [(index: Int, token: String)] {
        let response = try await client.send(.ebs, operation: "ListSnapshotBlocks", method: "GET",
                                             path: "/snapshots/\(snapshot)/blocks")
        let blocks = try Self.json(response, operation: "ListSnapshotBlocks")["Blocks"] as? [[String: Any]] ?? []
        return blocks.compactMap { block in
            guard let token = block["BlockToken"] as? String else { return nil }
            let index = (block["BlockIndex"] as? Int) ?? (block["BlockIndex"] as? String).flatMap { Int($0) }
            return index.map { (index: $0, token: token) }
        }.sorted { $0.index < $1.index }
    }

    /// One block's bytes.
    public func getSnapshotBlock(_ snapshot: String, index: Int, token: String) async throws -> [UInt8] {
        let response = try await client.send(.ebs, operation: "GetSnapshotBlock", method: "GET",
                                             path: "/snapshots/\(snapshot)/blocks/\(index)",
                                             query: "blockToken=\(PercentEncoding.encode(token))")
        return Array(response.body)
    }

    /// Base64 SHA-256, the checksum EBS direct speaks.
    public static func checksum(_ data: some DataProtocol) -> (text: String, digest: [UInt8]) {
        let digest = Array(SHA256.hash(data: data))
        return (Data(digest).base64EncodedString(), digest)
    }

    static func json(_ response: AWSResponse, operation: String) throws -> [String: Any] {
        guard let answer = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw AWSError(kind: .service, message: "the answer is not a JSON object", requestID: response.requestID,
                           httpStatus: response.status, operation: "EBS \(operation)")
        }
        return answer
    }
}
