import Foundation
import PyreCore

/// The SHA-256 of every file of a layer, made once when the layer is installed: an image's
/// root listing at bake time takes the hash of each file linked from a layer from here
/// instead of reading the base's hundreds of megabytes again. `pyre verify` and
/// `bake --check` never use it; they read every file.
public struct LayerContents: Sendable, Equatable {
    static let file = "contents.json"

    /// Relative path to the hex SHA-256 of the file's contents.
    public private(set) var hashes: [String: String] = [:]
    public private(set) var bytes: Int64 = 0

    init(of tree: URL) throws {
        try FileTree.walk(tree.path) { entry in
            guard entry.kind == .file else { return }
            hashes[entry.relativePath] = RootListing.hex(try FileTree.contentHash(of: entry.absolutePath))
            bytes += Int64(entry.size)
        }
    }

    private init(hashes: [String: String], bytes: Int64) {
        self.hashes = hashes
        self.bytes = bytes
    }

    static func read(from url: URL) throws -> LayerContents {
        let stored = try JSONDecoder().decode(Stored.self, from: Data(contentsOf: url))
        return LayerContents(hashes: stored.hashes, bytes: stored.bytes)
    }

    func write(to url: URL) throws {
        try JSONEncoder().encode(Stored(hashes: hashes, bytes: bytes)).write(to: url)
    }

    private struct Stored: Codable {
        var hashes: [String: String]
        var bytes: Int64
    }
}
