import Crypto
import Foundation
import Logging
@testable import PyreAWS
import PyreTesting
import Synchronization
import Testing

/// A disk image written to an EBS snapshot through moto's EBS direct APIs, signatures checked:
/// the blocks read back (GetSnapshotBlock) are the disk's, holes and zero blocks are not sent,
/// and an upload cut short goes on with the same snapshot, sending only what was missing.
@Suite(.serialized)
struct SnapshotUploadTests {
    private let scratch: URL

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-ebs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    /// A sparse 1 GiB disk with data in blocks 0, 1, 700 and 2047, and block 5 written as zeros.
    private func disk() throws -> (URL, [Int: [UInt8]]) {
        let file = scratch.appendingPathComponent("disk.img")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.truncate(atOffset: 1 << 30)
        var blocks: [Int: [UInt8]] = [:]
        var generator = SystemRandomNumberGenerator()
        for index in [0, 1, 700, 2047] {
            let block = (0..<(EBSClient.blockSize / 8)).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
            blocks[index] = block
            try handle.seek(toOffset: UInt64(index * EBSClient.blockSize))
            try handle.write(contentsOf: block)
        }
        try handle.seek(toOffset: UInt64(5 * EBSClient.blockSize))
        try handle.write(contentsOf: [UInt8](repeating: 0, count: EBSClient.blockSize))
        return (file, blocks)
    }

    private func ebs() async throws -> EBSClient {
        let moto = try await MotoServer.shared()
        return EBSClient(client: AWSClient(configuration: moto.configuration(), logger: Logger(label: "test")))
    }

    private func expectSnapshot(_ snapshot: String, holds blocks: [Int: [UInt8]], ebs: EBSClient) async throws {
        let listed = try await ebs.listSnapshotBlocks(snapshot)
        #expect(listed.map(\.index) == blocks.keys.sorted(), "only blocks with data are written")
        for (index, token) in listed {
            #expect(try await ebs.getSnapshotBlock(snapshot, index: index, token: token) == blocks[index])
        }
    }

    @Test func theSnapshotHoldsTheDisksBlocksAndNothingElse() async throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (file, blocks) = try disk()
        let ebs = try await ebs()
        let seen = Mutex<[SnapshotUpload.Progress]>([])
        let snapshot = try await SnapshotUpload(ebs: ebs, parallelism: 4).upload(
            disk: file, description: "test", tags: ["pyre:test": "upload"], journal: scratch.appendingPathComponent("journal")
        ) { progress in seen.withLock { $0.append(progress) } }
        try await expectSnapshot(snapshot, holds: blocks, ebs: ebs)
        let last = try #require(seen.withLock { $0.last })
        #expect(last.blocksDone == last.blocksTotal && last.bytesSent == Int64(4 * EBSClient.blockSize))
        let journal = try String(contentsOf: scratch.appendingPathComponent("journal"), encoding: .utf8)
        #expect(journal.hasPrefix("snapshot \(snapshot) 1\n") && journal.hasSuffix("\ncompleted\n"), "\(journal)")
        // Asked again (a bake that crashed before registering its AMI), it sends nothing.
        let again = try await SnapshotUpload(ebs: ebs).upload(disk: file, description: "test", tags: [:],
                                                              journal: scratch.appendingPathComponent("journal"))
        #expect(again == snapshot)
    }

    @Test func anInterruptedUploadGoesOnWithItsSnapshot() async throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (file, blocks) = try disk()
        let ebs = try await ebs()
        // What a crashed bake leaves: a started snapshot, block 0 written and noted, block 1
        // written but its line lost (it is sent again).
        let started = try await ebs.startSnapshot(gibibytes: 1, description: "test", tags: [:], clientToken: UUID().uuidString)
        for index in [0, 1] {
            let checksum = EBSClient.checksum(blocks[index]!)
            try await ebs.putSnapshotBlock(started.id, index: index, data: blocks[index]!, checksum: checksum.text)
        }
        let journal = scratch.appendingPathComponent("journal")
        try "snapshot \(started.id) 1\n0 \(EBSClient.checksum(blocks[0]!).text)\n1 abc".write(to: journal, atomically: true, encoding: .utf8)

        let seen = Mutex<[SnapshotUpload.Progress]>([])
        let snapshot = try await SnapshotUpload(ebs: ebs).upload(disk: file, description: "test", tags: [:], journal: journal) {
            progress in seen.withLock { $0.append(progress) }
        }
        #expect(snapshot == started.id)
        let last = try #require(seen.withLock { $0.last })
        #expect(last.blocksResumed == 1 && last.bytesSent == Int64(3 * EBSClient.blockSize), "\(last)")
        try await expectSnapshot(snapshot, holds: blocks, ebs: ebs)
    }

    /// A journal naming a snapshot EBS no longer has (it timed out long ago) does not stop the
    /// bake: it is dropped, and the upload starts over with a new snapshot.
    @Test func aJournalOfASnapshotThatIsGoneStartsOver() async throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (file, blocks) = try disk()
        let ebs = try await ebs()
        let journal = scratch.appendingPathComponent("journal")
        try "snapshot snap-00000000deadbeef0 1\n0 \(EBSClient.checksum(blocks[0]!).text)\n".write(to: journal, atomically: true, encoding: .utf8)
        let snapshot = try await SnapshotUpload(ebs: ebs).upload(disk: file, description: "test", tags: [:], journal: journal)
        #expect(snapshot != "snap-00000000deadbeef0")
        try await expectSnapshot(snapshot, holds: blocks, ebs: ebs)
    }

    @Test func theAggregateChecksumIsTheHashOfTheBlockHashesInBlockOrder() {
        let low = Array(SHA256.hash(data: [1, 2, 3] as [UInt8])), high = Array(SHA256.hash(data: [4] as [UInt8]))
        let checksums = [700: Data(high).base64EncodedString(), 2: Data(low).base64EncodedString()]
        #expect(SnapshotUpload.aggregateChecksum(checksums) == Data(SHA256.hash(data: low + high)).base64EncodedString())
    }
}
