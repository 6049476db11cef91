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
