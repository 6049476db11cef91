#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PyreCore

/// One layer of a whole-server image: a directory tree in the overlay format (an overlay
/// upper directory: files, whiteouts, opaque directories), addressed by the digest of what
/// it was made from.
public struct Layer: Sendable, Equatable {
    public var key: ImageDigest
    /// What made it, as progress and `pyre image ls` say it ("debian bookworm + python3").
    public var description: String
    public var bytes: Int64
    public var createdAt: Date
    public var tree: URL
}

/// Contents of `layer.json`; the tree's location follows from where the layer is.
private struct LayerMetadata: Codable {
    var key: ImageDigest
    var description: String
    var bytes: Int64
    var createdAt: Date
}

/// The machine's cache of layers, shared by every image and system baked here: a base is
/// fetched once, and images link their files from it (counted once on disk).
///
/// Layout: `<64 hex digits of the key>/tree/` and `<hex>/layer.json`; `.scratch-<uuid>/`
/// is a layer being made, renamed into place in one step when whole.
public struct LayerStore: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// `$PYRE_LAYER_CACHE`, else /var/cache/pyre/layers for root, else
    /// ~/.cache/pyre/layers.
    public static func machineDefault() -> LayerStore {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["PYRE_LAYER_CACHE"], !path.isEmpty { return LayerStore(root: URL(fileURLWithPath: path)) }
        if getuid() == 0 { return LayerStore(root: URL(fileURLWithPath: "/var/cache/pyre/layers")) }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return LayerStore(root: home.appending(path: ".cache/pyre/layers"))
    }

    public func layer(for key: ImageDigest) -> Layer? {
        guard let directory = directory(for: key),
              let data = try? Data(contentsOf: directory.appending(path: Self.metadataFile)),
              let metadata = try? Self.decoder.decode(LayerMetadata.self, from: data), metadata.key == key else { return nil }
        let tree = directory.appending(path: Self.treeDirectory, directoryHint: .isDirectory)
        guard FileManager.default.fileExists(atPath: tree.path) else { return nil }
        return Layer(key: key, description: metadata.description, bytes: metadata.bytes, createdAt: metadata.createdAt, tree: tree)
    }

    /// Every complete layer, oldest first (then by key).
    public func all() -> [Layer] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.compactMap { layer(for: ImageDigest("sha256:" + $0)) }
            .sorted { ($0.createdAt, $0.key.rawValue) < ($1.createdAt, $1.key.rawValue) }
    }

    /// Removes a layer (renamed away first, so a half-removed layer is never found).
    public func remove(_ key: ImageDigest) throws {
        guard let directory = directory(for: key), FileManager.default.fileExists(atPath: directory.path) else { return }
        try addresses.remove(directory)
    }

    /// The locked base an unlocked `debian:` base (its key for a suite and package list)
    /// resolved to on this machine, so a system without a pyre.lock yet is not fetched again.
    func resolution(of unlocked: ImageDigest) -> ImageDigest? {
        guard let hex = unlocked.hex,
              let text = try? String(contentsOf: root.appending(path: "\(Self.resolvedDirectory)/\(hex)"), encoding: .utf8) else { return nil }
        return ImageDigest(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static let resolvedDirectory = ".resolved"

    func recordResolution(of unlocked: ImageDigest, as locked: ImageDigest) throws {
        guard let hex = unlocked.hex else { return }
        let directory = root.appending(path: Self.resolvedDirectory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try locked.rawValue.write(to: directory.appending(path: hex), atomically: true, encoding: .utf8)
    }

    // MARK: - Used by the baker

    static let metadataFile = "layer.json"
    static let treeDirectory = "tree"

    private var addresses: AddressedDirectories {
        AddressedDirectories(root: root, noun: "layer", place: "the layer cache", advice: "set PYRE_LAYER_CACHE to a writable directory")
    }

    func directory(for key: ImageDigest) -> URL? { addresses.directory(for: key) }

    /// A new scratch directory holding an empty `tree/`, on the store's file system.
    func makeScratch() throws -> URL {
        let scratch = try addresses.makeScratch(mode: 0o700)
        guard mkdir(scratch.appending(path: Self.treeDirectory).path, 0o755) == 0 else {
            throw posixError("cannot create", scratch.path + "/" + Self.treeDirectory)
        }
        return scratch
    }

    /// Moves a finished scratch (its `tree/`; anything else in it is removed) to the key's
    /// address. When another bake made the same layer first, that one is kept.
    func install(scratch: URL, key: ImageDigest, description: String) throws -> Layer {
        guard let target = directory(for: key) else {
            throw PyreError(.bake, "\(key) is not a sha256 digest; this is a bug in Pyre, please report it")
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? [] where name != Self.treeDirectory {
            try FileTree.remove(scratch.appending(path: name).path)
        }
        let tree = scratch.appending(path: Self.treeDirectory, directoryHint: .isDirectory)
        let createdAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let contents = try LayerContents(of: tree)
        try contents.write(to: scratch.appending(path: LayerContents.file))
        let metadata = LayerMetadata(key: key, description: description, bytes: contents.bytes, createdAt: createdAt)
        try Self.encoder.encode(metadata).write(to: scratch.appending(path: Self.metadataFile))
        let layer = Layer(key: key, description: description, bytes: metadata.bytes, createdAt: createdAt,
                          tree: target.appending(path: Self.treeDirectory, directoryHint: .isDirectory))
        return try addresses.moveIntoPlace(scratch, to: target, existing: { self.layer(for: key) }) ?? layer
    }

    /// The content hashes of a layer's files, as made when it was installed (or now, once,
    /// for a layer an earlier Pyre made).
    func contents(of layer: Layer) -> LayerContents? {
        let file = layer.tree.deletingLastPathComponent().appending(path: LayerContents.file)
        if let contents = try? LayerContents.read(from: file) { return contents }
        guard let contents = try? LayerContents(of: layer.tree) else { return nil }
        try? contents.write(to: file)
        return contents
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
