#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import PyreCore

/// Every entry of a whole-server image's root tree, one line each in a fixed order: type,
/// path, permission bits, owner, group and the SHA-256 of a file's contents or a symlink's
/// target. Its digest is the image's root digest, what `pyre verify` and `pyre bake --check`
/// compare; two listings tell which paths differ.
///
/// Unlike a host-OS image's ``treeDigest(of:)``, owners and write bits count: a server sees
/// the tree as it is. Device nodes, FIFOs and sockets are refused (a server's /dev is its own).
public struct RootListing: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var summary: String
    }

    public private(set) var entries: [Entry] = []

    /// Reads every file below `root`.
    public init(of root: URL) throws {
        try self.init(of: root, known: [:])
    }

    /// A file whose contents' hash is known: it is the file with this identity.
    struct KnownFile {
        var fileSystem: dev_t
        var inode: ino_t
        var hash: String
    }

    /// Reads every file below `root`, but those `known` by path whose identity matches
    /// (files linked from a layer whose hashes were taken when it was made).
    init(of root: URL, known: [String: KnownFile]) throws {
        try FileTree.walk(root.path) { entry in
            let metadata = "\(String(entry.mode, radix: 8)) \(entry.owner):\(entry.group)"
            let summary: String
            switch entry.kind {
            case .directory: summary = "d \(metadata)"
            case .file:
                let hash = if let file = known[entry.relativePath], file.inode == entry.inode, file.fileSystem == entry.fileSystem {
                    file.hash
                } else {
                    Self.hex(try FileTree.contentHash(of: entry.absolutePath))
                }
                summary = "f \(metadata) \(hash)"
            case .symlink: summary = "l \(entry.owner):\(entry.group) \(Self.hex(Array(SHA256.hash(data: try FileTree.linkTarget(of: entry.absolutePath)))))"
            case .characterDevice, .other:
                throw Self.specialFile(entry.relativePath)
            }
            entries.append(Entry(path: "/" + entry.relativePath, summary: summary))
        }
    }

    /// The error for a device node, FIFO or socket at `relativePath` of a root.
    static func specialFile(_ relativePath: String) -> PyreError {
        PyreError(.bake, "/\(relativePath) in the image is a device node, FIFO or socket; a whole-server image holds only "
            + "files, directories and symlinks (a server's /dev is its own): remove it from the base or in the step that made it")
    }

    public var digest: ImageDigest {
        var hasher = CanonicalHasher()
        hasher.string("pyre-root-v1")
        hasher.integer(UInt64(entries.count))
        for entry in entries {
            hasher.string(entry.path)
            hasher.string(entry.summary)
        }
        return hasher.finalize()
    }

    /// The first `limit` paths whose entries differ between the two listings (added,
    /// removed or changed), in path order.
    public func differences(from other: RootListing, limit: Int = 10) -> [String] {
        let mine = Dictionary(entries.map { ($0.path, $0.summary) }, uniquingKeysWith: { first, _ in first })
        let theirs = Dictionary(other.entries.map { ($0.path, $0.summary) }, uniquingKeysWith: { first, _ in first })
        let paths = Set(mine.keys).union(theirs.keys).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return Array(paths.lazy.filter { mine[$0] != theirs[$0] }.prefix(limit))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// The root digest of a whole-server image's tree (see ``RootListing``).
public func rootDigest(of root: URL) throws -> ImageDigest {
    try RootListing(of: root).digest
}
