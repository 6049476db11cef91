#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import PyreCore

// The layer cache is shared by every system on the machine, so whether a layer is still
// needed depends on images in other systems' stores. Each image store that installs a
// whole-server image registers itself in the cache (`.stores/<sha256 of its path>`, holding
// the path); a collection reads the `layers` of every registered store's images and drops
// registrations whose store is gone. Bakes hold the cache's lock (`.lock`) shared while
// they make and use layers; a collection takes it exclusively, so it never removes a layer
// a bake is about to link an image from.

extension LayerStore {
    static let storesDirectory = ".stores"
    static let lockName = ".lock"

    /// Notes that `store` holds (or will hold) images linked from this cache's layers, so a
    /// collection run from any system keeps their layers.
    public func register(_ store: ImageStore) throws {
        let path = store.root.standardizedFileURL.path
        let directory = root.appending(path: Self.storesDirectory, directoryHint: .isDirectory)
        let file = directory.appending(path: ImageDigest(sha256: SHA256.hash(data: Data(path.utf8))).hex!)
        if (try? String(contentsOf: file, encoding: .utf8)) == path { return }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let partial = directory.appending(path: ".partial-\(UUID().uuidString)")
            try Data(path.utf8).write(to: partial)
            guard rename(partial.path, file.path) == 0 else { throw posixError("cannot rename", partial.path) }
        } catch let error as PyreError {
            throw error
        } catch {
            throw PyreError(.bake, "cannot register the image store \(path) in the layer cache \(root.path): "
                + "\(error.localizedDescription); set PYRE_LAYER_CACHE to a writable directory")
        }
    }

    /// The image stores registered in the cache (see ``register(_:)``): where each
    /// registration's file is and the store path it names.
    public func registeredStores() -> [(registration: URL, store: URL)] {
        let directory = root.appending(path: Self.storesDirectory, directoryHint: .isDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name in
            let file = directory.appending(path: name)
            guard let path = try? String(contentsOf: file, encoding: .utf8), path.hasPrefix("/") else { return nil }
            return (file, URL(fileURLWithPath: path, isDirectory: true))
        }
    }

    /// How many images of all registered stores use each layer. A store that is gone counts
    /// for nothing (and with `dropMissing` its registration is removed); a store that is
    /// there but cannot be read fails the count, as its layers cannot be told.
    public func imagesUsingLayers(dropMissing: Bool = false) throws -> (counts: [ImageDigest: Int], dropped: [URL]) {
        var counts: [ImageDigest: Int] = [:]
        var dropped: [URL] = []
        for (registration, storeRoot) in registeredStores() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: storeRoot.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                dropped.append(storeRoot)
                if dropMissing { try FileTree.remove(registration.path) }
                continue
            }
            guard FileManager.default.isReadableFile(atPath: storeRoot.path),
                  (try? FileManager.default.contentsOfDirectory(atPath: storeRoot.path)) != nil else {
                throw PyreError(.bake, "cannot read the image store \(storeRoot.path), which uses the layer cache \(root.path): "
                    + "its layers cannot be told apart from unused ones; run as a user who can read it (root)")
            }
            for image in ImageStore(root: storeRoot).all() {
                for layer in Set(image.layers) { counts[layer, default: 0] += 1 }
            }
        }
        return (counts, dropped)
    }

    /// Runs `body` (a bake) holding the cache's lock shared; waits while a collection holds it.
    @discardableResult
    func whileUsing<Result>(_ body: () async throws -> Result) async throws -> Result {
        let descriptor = try openLock()
        defer { close(descriptor) }
        while flock(descriptor, LOCK_SH | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw posixError("cannot lock", root.path + "/" + Self.lockName) }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await body()
    }

    /// Runs `body` holding the cache's lock exclusively; fails at once while a bake holds it.
    func exclusively<Result>(_ body: () throws -> Result) throws -> Result {
        let descriptor = try openLock()
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            throw PyreError(.deployRunning, "an image is being baked on this machine (the layer cache \(root.path) is in use); "
                + "run the collection again once the bake is done")
        }
        return try body()
    }

    /// Removes `keys` from the cache under its exclusive lock (`pyre verify --replace`
    /// drops a drifted image's layers so they are made again).
    public func remove(layers keys: [ImageDigest]) throws {
        try exclusively { for key in keys { try remove(key) } }
    }

    private func openLock() throws -> Int32 {
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw PyreError(.bake, "cannot create the layer cache \(root.path): \(error.localizedDescription); "
                + "set PYRE_LAYER_CACHE to a writable directory")
        }
        let path = root.appending(path: Self.lockName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw posixError("cannot open", path) }
        return descriptor
    }
}

/// Bytes of the regular files below some trees, each file (inode) counted once however many
/// hard links it has: images linked from the layer cache share their files with it.
public struct DiskUsage: Sendable {
    private struct Inode: Hashable {
        var device: UInt64
        var number: UInt64
    }

    private struct File {
        var size: Int64
        var linksSeen: Int
        var links: Int
    }

    private var files: [Inode: File] = [:]

    public init() {}

    /// Adds the files below `tree`; a tree that is not there adds nothing.
    public mutating func add(_ tree: URL) throws {
        guard FileManager.default.fileExists(atPath: tree.path) else { return }
        try FileTree.walk(tree.path) { entry in
            guard entry.kind == .file else { return }
            var info = stat()
            guard lstat(entry.absolutePath, &info) == 0 else { return }
            let inode = Inode(device: UInt64(info.st_dev), number: UInt64(info.st_ino))
            files[inode, default: File(size: Int64(info.st_size), linksSeen: 0, links: Int(info.st_nlink))].linksSeen += 1
        }
    }

    /// Every file once.
    public var bytes: Int64 { files.values.reduce(0) { $0 + $1.size } }

    /// The files whose every link is below the trees added: what removing the trees frees.
    public var exclusiveBytes: Int64 {
        files.values.reduce(0) { $0 + ($1.linksSeen >= $1.links ? $1.size : 0) }
    }

    /// Counts of the trees' bytes, for one tree.
    public static func of(_ tree: URL) throws -> DiskUsage {
        var usage = DiskUsage()
        try usage.add(tree)
        return usage
    }
}

/// `pyre image gc`: removes a system's images nothing needs any more, then the layers of the
/// machine's cache that no image of any system uses.
public struct ImageCollector: Sendable {
    public struct Result: Sendable, Equatable {
        /// Digests of the images removed from the system's store.
        public var removedImages: [ImageDigest] = []
        /// What removing them freed (files the layer cache still links are not freed).
        public var imageBytesFreed: Int64 = 0
        public var removedLayers: [Layer] = []
        public var layerBytesFreed: Int64 = 0
        /// Registered image stores that are gone.
        public var droppedStores: [String] = []
        /// The images left: those kept.
        public var keptImages: [ImageDigest] = []
        /// How many layers are left.
        public var keptLayers = 0

        public init() {}
    }

    public let store: ImageStore
    public let layers: LayerStore

    public init(store: ImageStore, layers: LayerStore = .machineDefault()) {
        self.store = store
        self.layers = layers
    }

    /// Removes the images of `store` not in `keep`, then the layers no image of any
    /// registered store uses, the resolutions of unlocked bases to them, and what failed
    /// bakes left in the cache. Fails at once while
    /// a bake on this machine uses the cache.
    public func collect(keeping keep: Set<ImageDigest>) throws -> Result {
        try layers.exclusively {
            var result = Result()
            let names = (try? FileManager.default.contentsOfDirectory(atPath: store.root.path)) ?? []
            let removable = names.map { ImageDigest("sha256:" + $0) }.filter { $0.hex != nil && !keep.contains($0) }
            var freed = DiskUsage()
            for digest in removable { try freed.add(store.root.appending(path: digest.hex! + "/" + ImageStore.filesDirectory)) }
            result.removedImages = try store.prune(keeping: keep).sorted { $0.rawValue < $1.rawValue }
            result.imageBytesFreed = freed.exclusiveBytes
            result.keptImages = store.all().map(\.digest).sorted { $0.rawValue < $1.rawValue }

            let (counts, dropped) = try layers.imagesUsingLayers(dropMissing: true)
            result.droppedStores = dropped.map(\.path)
            let unused = layers.all().filter { counts[$0.key] == nil }
            var layerUsage = DiskUsage()
            for layer in unused { try layerUsage.add(layer.tree) }
            for layer in unused { try layers.remove(layer.key) }
            result.removedLayers = unused
            result.layerBytesFreed = layerUsage.exclusiveBytes
            result.keptLayers = layers.all().count
            // Unlocked bases resolved to a layer that is gone resolve again.
            let resolved = layers.root.appending(path: LayerStore.resolvedDirectory)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: resolved.path)) ?? []
            where layers.resolution(of: ImageDigest("sha256:" + name)).flatMap(layers.layer(for:)) == nil {
                try FileTree.remove(resolved.appending(path: name).path)
            }
            // Left by bakes or removals that did not finish; none runs now.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: layers.root.path)) ?? []
            where name.hasPrefix(".scratch-") || name.hasPrefix(".trash-") {
                try FileTree.remove(layers.root.appending(path: name).path)
            }
            return result
        }
    }
}
