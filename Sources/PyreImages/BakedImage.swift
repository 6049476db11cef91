import Foundation
import PyreCore

/// An image in the store: a read-only directory of files, addressed by the digest of
/// the inputs it was baked from.
public struct BakedImage: Sendable, Equatable, Codable {
    /// Name of the recipe it was baked from.
    public var name: String
    /// Digest of the inputs (recipe and context tree); the image's address.
    public var digest: ImageDigest
    /// Digest of the frozen result tree, as `treeDigest(of: root)`; for drift checks.
    public var contentDigest: ImageDigest
    /// Read-only directory holding the image's files.
    public var root: URL
    public var bakedAt: Date

    public init(name: String, digest: ImageDigest, contentDigest: ImageDigest, root: URL, bakedAt: Date) {
        self.name = name
        self.digest = digest
        self.contentDigest = contentDigest
        self.root = root
        self.bakedAt = bakedAt
    }
}

/// Progress of `ImageBaker.bake`; steps count from 1.
public enum BakeProgress: Sendable {
    case started(image: String, step: Int, of: Int, command: String)
    case output(image: String, line: String)
    case finished(image: String, step: Int, seconds: Double)
    /// An image with the same digest already exists; nothing was run.
    case cached(image: String, digest: ImageDigest)
}
