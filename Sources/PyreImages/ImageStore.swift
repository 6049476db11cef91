#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PyreCore

/// Content-addressed store of baked images.
///
/// Layout under `root` (STATE/volatile/images):
/// - `<64 hex digits of the digest>/root/`: the image's files, read-only;
/// - `<hex>/image.json`: metadata (name, digests, bake time, a whole-server image's base
///   and layers), read-only;
/// - `.scratch-<uuid>/`: a bake in progress; renamed to `<hex>` in one step when it is
///   complete, so an image directory is either absent or whole.
public struct ImageStore: Sendable {
    public let root: URL

    /// `root` is STATE/volatile/images; it is created on the first bake.
    public init(root: URL) {
        self.root = root
    }

    /// The baked image for a digest, if present and complete.
    public func image(for digest: ImageDigest) -> BakedImage? {
        guard let directory = directory(for: digest),
              let data = try? Data(contentsOf: directory.appending(path: Self.metadataFile)),
              let metadata = try? Self.decoder.decode(ImageMetadata.self, from: data),
              metadata.digest == digest else { return nil }
        let files = directory.appending(path: Self.filesDirectory, directoryHint: .isDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: files.path, isDirectory: &isDirectory),
              isDirectory.boolValue else { return nil }
        return BakedImage(name: metadata.name, digest: digest, contentDigest: metadata.contentDigest,
                          root: files, bakedAt: metadata.bakedAt, base: metadata.base, layers: metadata.layers ?? [],
                          runtime: metadata.runtime)
    }

    /// Every complete image, oldest bake first (then by digest).
    public func all() -> [BakedImage] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.compactMap { name in
            let digest = ImageDigest("sha256:" + name)
            return digest.hex == name ? image(for: digest) : nil
        }.sorted { ($0.bakedAt, $0.digest.rawValue) < ($1.bakedAt, $1.digest.rawValue) }
    }

    /// The images whose digest starts with `prefix` (hex digits, `sha256:` optional).
    public func images(matching prefix: String) -> [BakedImage] {
        let hex = prefix.hasPrefix("sha256:") ? String(prefix.dropFirst(7)) : prefix
        guard !hex.isEmpty, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return [] }
        return all().filter { $0.digest.hex?.hasPrefix(hex) == true }
    }

    /// Removes images not in `keep`; returns their digests. Bakes in progress (`.scratch-*`)
    /// are left alone.
    @discardableResult
    public func prune(keeping keep: Set<ImageDigest>) throws -> [ImageDigest] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        var removed: [ImageDigest] = []
        for name in names {
            let digest = ImageDigest("sha256:" + name)
            guard digest.hex == name, !keep.contains(digest) else { continue }
            try addresses.remove(root.appending(path: name))
            removed.append(digest)
        }
        return removed
    }

    /// Moves an image out of its address (to `.drifted-<uuid>`), so it can be baked again
    /// while servers still use the old tree; returns where it went.
    public func setAside(_ digest: ImageDigest) throws -> URL {
        guard let directory = directory(for: digest) else { throw PyreError(.bake, "\(digest) is not a sha256 digest") }
        let aside = root.appending(path: ".drifted-\(UUID().uuidString)", directoryHint: .isDirectory)
        guard rename(directory.path, aside.path) == 0 else { throw posixError("cannot move the drifted image", directory.path) }
        return aside
    }

    // MARK: - Used by ImageBaker

    static let metadataFile = "image.json"
    static let filesDirectory = "root"

    private var addresses: AddressedDirectories {
        AddressedDirectories(root: root, noun: "image", place: "the image store", advice: "check the state directory's permissions")
    }

    func directory(for digest: ImageDigest) -> URL? { addresses.directory(for: digest) }

    /// A new, empty directory for one bake, on the store's file system so it can be
    /// renamed into place.
    func makeScratchDirectory() throws -> URL { try addresses.makeScratch(mode: 0o755) }

    /// Writes the metadata of a finished bake into `scratch`, freezes it and renames it
    /// to the image's address. If another bake of the same digest got there first, its
    /// image wins and `scratch` is removed.
    func install(scratch: URL, name: String, digest: ImageDigest, contentDigest: ImageDigest,
                 base: String? = nil, layers: [ImageDigest] = [], runtime: ImageRuntime? = nil) throws -> BakedImage {
        guard let target = directory(for: digest) else {
            throw PyreError(.bake, "\(digest) is not a sha256 digest; this is a bug in Pyre, please report it")
        }
        // Whole seconds, so the image read back from disk equals the one returned here.
        let bakedAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let metadata = ImageMetadata(name: name, digest: digest, contentDigest: contentDigest, bakedAt: bakedAt,
                                     base: base, layers: layers.isEmpty ? nil : layers, runtime: runtime)
        let metadataURL = scratch.appending(path: Self.metadataFile)
        do {
            try Self.encoder.encode(metadata).write(to: metadataURL)
        } catch {
            throw PyreError(.bake, "cannot write \(metadataURL.path): \(error.localizedDescription); check free space and permissions")
        }
        try FileTree.setMode(of: metadataURL.path) { _ in 0o444 }
        if var existing = try addresses.moveIntoPlace(scratch, to: target, existing: { image(for: digest) }) {
            existing.name = name
            return existing
        }
        try FileTree.setMode(of: target.path) { $0 & ~0o222 }
        return BakedImage(name: name, digest: digest, contentDigest: contentDigest,
                          root: target.appending(path: Self.filesDirectory, directoryHint: .isDirectory),
                          bakedAt: bakedAt, base: base, layers: layers, runtime: runtime)
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

/// Contents of `image.json`. The files' location is not stored: it follows from where
/// the image directory is, so a state directory can be moved.
private struct ImageMetadata: Codable {
    var name: String
    var digest: ImageDigest
    var contentDigest: ImageDigest
    var bakedAt: Date
    /// Whole-server images only.
    var base: String?
    var layers: [ImageDigest]?
    /// Whole-server images baked since Pyre records it.
    var runtime: ImageRuntime?
}
