import Foundation
import PyreCore

/// Makes the AMI of a whole-server image: its bootable disk uploaded as an EBS snapshot
/// (``SnapshotUpload``) and registered as the root device of a new AMI tagged
/// `pyre:image=DIGEST`. An AMI of the account with that tag is the image already: a second bake
/// finds it and uploads nothing.
public struct AMIBake: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// An AMI tagged with the digest was there.
        case found(ami: String)
        case registered(ami: String, snapshot: String)

        public var ami: String {
            switch self {
            case .found(let ami), .registered(let ami, _): ami
            }
        }
    }

    public var ec2: EC2Client
    public var upload: SnapshotUpload

    public init(ec2: EC2Client, ebs: EBSClient, parallelism: Int = 16) {
        self.ec2 = ec2
        upload = SnapshotUpload(ebs: ebs, parallelism: parallelism)
    }

    /// Where the disk of image `name` baked as `digest` is written under `workDirectory`.
    public static func diskFile(name: String, digest: ImageDigest, in workDirectory: URL) -> URL {
        workDirectory.appendingPathComponent("\(name)-\(digest.short).img")
    }

    /// The AMI of image `name` of `system` baked as `digest`. `makeDisk` writes its disk to the
    /// URL it is given, under `workDirectory`, where an interrupted upload's disk and journal are
    /// found again; the disk is removed once uploaded, unless `keepDisk`.
    public func ensureAMI(system: String, name: String, digest: ImageDigest, workDirectory: URL, keepDisk: Bool = false,
                          makeDisk: (URL) async throws -> Void,
                          onProgress: @escaping @Sendable (SnapshotUpload.Progress) -> Void) async throws -> Outcome {
        if let existing = try await ec2.describeOwnImages(filters: ["tag:\(EC2ServerProvider.Tag.image)": [digest.rawValue]]).first {
            return .found(ami: existing.id)
        }
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        let short = String(digest.short)
        let lock = try FileLock(file: workDirectory.appendingPathComponent("\(name)-\(short).lock"), busy: PyreError(.bake,
            "another pyre bake or deploy is making the AMI of image \(name) (\(short)) now; wait for it to finish"))
        defer { withExtendedLifetime(lock) {} }
        let disk = Self.diskFile(name: name, digest: digest, in: workDirectory)
        let journal = workDirectory.appendingPathComponent("\(name)-\(short).upload")
        let record = UploadJournal.read(journal)
        // A journal means an upload of this very disk was under way, or done: go on with it.
        if !(record?.completed == true || (record != nil && FileManager.default.fileExists(atPath: disk.path))) {
            try? FileManager.default.removeItem(at: journal)
            try await makeDisk(disk)
        }
        let tags = [EC2ServerProvider.Tag.image: digest.rawValue, EC2ServerProvider.Tag.system: system]
        let snapshot: String
        if let record, record.completed {
            snapshot = record.snapshot
        } else {
            snapshot = try await upload.upload(disk: disk, description: "Pyre image \(name) \(digest.rawValue)",
                                               tags: tags, journal: journal, onProgress: onProgress)
        }
        let ami = try await ec2.registerImage(name: "pyre-\(system)-\(name)-\(short)",
                                              description: "Pyre image \(name) of \(system), \(digest.rawValue)",
                                              snapshot: snapshot, tags: tags)
        try await ec2.createTags([ami], tags: tags)
        try? FileManager.default.removeItem(at: journal)
        if !keepDisk { try? FileManager.default.removeItem(at: disk) }
        return .registered(ami: ami, snapshot: snapshot)
    }
}
