#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import PyreCore

/// `pyre image export IMAGE --oci DIR`: a whole-server image as an OCI image layout
/// (image-spec 1.0), so the same image runs under podman or ships to a registry
/// (`skopeo copy oci:DIR docker://…`), and `base: { oci: DIR }` takes it back.
///
/// The layout holds one image, named `latest` (`org.opencontainers.image.ref.name`), with
/// one uncompressed layer: the image's root as a deterministic tar (``LayerTar``), so the
/// same image gives the same blobs, byte for byte, on any machine. Its config says how
/// Pyre runs the image's servers: `Cmd` is the recipe's `run`, `WorkingDir` its `workdir`,
/// `Env` a PATH and its `env`, `User` its `user` (nobody, 65534:65534, when it names none:
/// whom Pyre runs such servers as).
public struct OCIExport: Sendable {
    /// What was written.
    public struct Result: Sendable, Equatable {
        public var layout: URL
        /// The image manifest's digest: what `skopeo inspect` calls the image's digest.
        public var manifest: ImageDigest
        public var config: ImageDigest
        /// The layer's digest, also its diff id (it is not compressed).
        public var layer: ImageDigest
        public var layerBytes: Int64
        public var reference: String
    }

    public let image: BakedImage
    public let runtime: ImageRuntime
    /// The name of the image in the layout (`skopeo inspect oci:DIR:latest`).
    public let reference: String

    /// The first PATH of a server whose recipe sets none: Debian's.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `runtime`: how its servers run; by default what the image recorded when it was baked.
    public init(image: BakedImage, runtime: ImageRuntime? = nil, reference: String = "latest") throws {
        guard image.isWholeServer else {
            throw PyreError(.bake, "image '\(image.name)' (\(image.digest.short)) is a host-OS image: its files are only the app's, "
                + "which run on the host's operating system, so it is no OCI image; give it a `base:` to export it")
        }
        guard let runtime = runtime ?? image.runtime else {
            throw PyreError(.bake, "image \(image.digest.short) does not record how its servers run (baked by an older Pyre); "
                + "export it by its name in pyre.yml, or bake it again")
        }
        self.image = image
        self.runtime = runtime
        self.reference = reference
    }

    /// The image's config, as the layout stores it.
    func configuration(diffID: ImageDigest) -> Configuration {
        var environment = runtime.env
        if environment["PATH"] == nil { environment["PATH"] = Self.defaultPath }
        let env = environment.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { "\($0.key)=\($0.value)" }
        return Configuration(
            created: Self.created, architecture: Self.architecture, os: "linux",
            config: .init(User: runtime.user ?? "65534:65534", Env: env, Cmd: runtime.run, WorkingDir: runtime.workdir,
                          Labels: [Self.imageLabel: image.digest.rawValue, Self.rootLabel: image.contentDigest.rawValue]),
            rootfs: .init(type: "layers", diff_ids: [diffID.rawValue]),
            history: [.init(created: Self.created, created_by: "pyre image export: \(image.base ?? "") root \(image.contentDigest.short)")])
    }

    /// Labels naming the Pyre image it was exported from, and its root digest.
    public static let imageLabel = "pyre.image.digest"
    public static let rootLabel = "pyre.root.digest"

    /// Writes the layout to `layout`, which must not exist or be an empty directory. It is
    /// made next to it and renamed into place whole.
    @discardableResult
    public func write(to layout: URL) throws -> Result {
        let layout = layout.standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: layout.path, isDirectory: &isDirectory) {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: layout.path)) ?? ["?"]
            guard isDirectory.boolValue, contents.isEmpty else {
                throw PyreError(.bake, "\(layout.path) exists and is not an empty directory; give a new directory for the layout "
                    + "(or remove that one)")
            }
        }
        let parent = layout.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw PyreError(.bake, "cannot create \(parent.path): \(error.localizedDescription)")
        }
        let scratch = parent.appending(path: ".\(layout.lastPathComponent).pyre-export-\(UUID().uuidString)", directoryHint: .isDirectory)
        let blobs = scratch.appending(path: "blobs/sha256", directoryHint: .isDirectory)
        do {
            try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
            let layerFile = blobs.appending(path: "layer.tar.partial")
            let layer = try LayerTar.write(image.root, to: layerFile)
            guard rename(layerFile.path, blobs.appending(path: layer.digest.hex!).path) == 0 else {
                throw posixError("cannot rename", layerFile.path)
            }
            let config = try Self.blob(Self.encode(configuration(diffID: layer.digest)), in: blobs)
            let manifest = Manifest(
                config: .init(mediaType: Self.configType, digest: config.digest.rawValue, size: config.size),
                layers: [.init(mediaType: Self.layerType, digest: layer.digest.rawValue, size: layer.bytes)])
            let manifestBlob = try Self.blob(Self.encode(manifest), in: blobs)
            let index = Index(manifests: [.init(mediaType: Self.manifestType, digest: manifestBlob.digest.rawValue,
                                                size: manifestBlob.size, annotations: [Self.refName: reference],
                                                platform: .init(architecture: Self.architecture, os: "linux"))])
            try Self.encode(index).write(to: scratch.appending(path: "index.json"))
            try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: scratch.appending(path: "oci-layout"))
            if FileManager.default.fileExists(atPath: layout.path) {
                guard rmdir(layout.path) == 0 else { throw posixError("cannot replace the empty directory", layout.path) }
            }
            guard rename(scratch.path, layout.path) == 0 else { throw posixError("cannot move the layout to", layout.path) }
            return Result(layout: layout, manifest: manifestBlob.digest, config: config.digest, layer: layer.digest,
                          layerBytes: layer.bytes, reference: reference)
        } catch {
            try? FileTree.remove(scratch.path)
            throw error
        }
    }

    // MARK: - The layout's documents

    static let manifestType = "application/vnd.oci.image.manifest.v1+json"
    static let configType = "application/vnd.oci.image.config.v1+json"
    static let layerType = "application/vnd.oci.image.layer.v1.tar"
    static let indexType = "application/vnd.oci.image.index.v1+json"
    static let refName = "org.opencontainers.image.ref.name"
    /// The bakes' `SOURCE_DATE_EPOCH`: an export's bytes do not depend on when it ran.
    static let created = "2023-11-14T22:13:20Z"

    struct Descriptor: Codable, Equatable {
        var mediaType: String
        var digest: String
        var size: Int64
        var annotations: [String: String]?
        var platform: Platform?
    }

    struct Platform: Codable, Equatable {
        var architecture: String
        var os: String
    }

    struct Index: Codable {
        var schemaVersion = 2
        var mediaType = OCIExport.indexType
        var manifests: [Descriptor]
    }

    struct Manifest: Codable {
        var schemaVersion = 2
        var mediaType = OCIExport.manifestType
        var config: Descriptor
        var layers: [Descriptor]
    }

    /// The image config (image-spec `config.md`); field names as the spec spells them.
    struct Configuration: Codable, Equatable {
        struct Execution: Codable, Equatable {
            var User: String
            var Env: [String]
            var Cmd: [String]
            var WorkingDir: String
            var Labels: [String: String]
        }

        struct RootFS: Codable, Equatable {
            var type: String
            var diff_ids: [String]
        }

        struct History: Codable, Equatable {
            var created: String
            var created_by: String
        }

        var created: String
        var architecture: String
        var os: String
        var config: Execution
        var rootfs: RootFS
        var history: [History]
    }

    /// Compact JSON with sorted keys: the same document gives the same bytes, so the same digest.
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    private static func blob(_ data: Data, in blobs: URL) throws -> (digest: ImageDigest, size: Int64) {
        let digest = ImageDigest(sha256: SHA256.hash(data: data))
        try data.write(to: blobs.appending(path: digest.hex!))
        return (digest, Int64(data.count))
    }

    /// The machine's architecture as OCI names it (GOARCH): the image's programs are this
    /// machine's, as the base was made here.
    static var architecture: String {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return switch machine {
        case "x86_64": "amd64"
        case "aarch64", "arm64": "arm64"
        case "i386", "i486", "i586", "i686": "386"
        case let arm where arm.hasPrefix("arm"): "arm"
        default: machine
        }
    }
}
