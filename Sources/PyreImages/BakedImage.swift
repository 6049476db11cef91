import Foundation
import PyreCore

/// An image in the store: a read-only directory of files, addressed by the digest of
/// the inputs it was baked from.
public struct BakedImage: Sendable, Equatable, Codable {
    /// Name of the recipe it was baked from.
    public var name: String
    /// Digest of the inputs (recipe and context tree); the image's address.
    public var digest: ImageDigest
    /// Digest of the result tree, for drift checks: `treeDigest(of: root)` for a host-OS
    /// image, `rootDigest(of: root)` for a whole-server one.
    public var contentDigest: ImageDigest
    /// Read-only directory holding the image's files (a whole-server image's root).
    public var root: URL
    public var bakedAt: Date
    /// A whole-server image's base, as it was described ("debian bookworm + python3"); nil
    /// for a host-OS image.
    public var base: String?
    /// A whole-server image's layers, bottom first (keys in the ``LayerStore``).
    public var layers: [ImageDigest]
    /// How a whole-server image's servers run, as its recipe said when it was baked; nil for
    /// host-OS images and for images baked before Pyre recorded it.
    public var runtime: ImageRuntime?

    public init(name: String, digest: ImageDigest, contentDigest: ImageDigest, root: URL, bakedAt: Date,
                base: String? = nil, layers: [ImageDigest] = [], runtime: ImageRuntime? = nil) {
        self.name = name
        self.digest = digest
        self.contentDigest = contentDigest
        self.root = root
        self.bakedAt = bakedAt
        self.base = base
        self.layers = layers
        self.runtime = runtime
    }

    public var isWholeServer: Bool { base != nil }

    /// How a view of this image's files hashes, to compare with ``contentDigest``.
    public func digestOfFiles(at view: URL) throws -> ImageDigest {
        isWholeServer ? try rootDigest(of: view) : try treeDigest(of: view)
    }
}

/// How the servers of a whole-server image run: what its recipe says besides the files.
/// Recorded in `image.json`, so an image can be exported (`pyre image export`) by its digest
/// alone, after its recipe changed.
public struct ImageRuntime: Sendable, Equatable, Codable {
    /// The command (argv).
    public var run: [String]
    /// Where it starts.
    public var workdir: String
    /// The recipe's environment.
    public var env: [String: String]
    /// `NAME`, `UID`, with an optional `:GROUP`; nil is nobody.
    public var user: String?

    public init(run: [String], workdir: String, env: [String: String], user: String?) {
        self.run = run
        self.workdir = workdir
        self.env = env
        self.user = user
    }

    public init(_ recipe: ImageRecipe) {
        self.init(run: recipe.run, workdir: recipe.workdir, env: recipe.env, user: recipe.user)
    }
}
