import Foundation
import PyreCore

/// SHA-256 over the directory tree below `directory`: every entry's type, relative path,
/// permission bits (write bits excluded) and contents or symlink target, in a fixed
/// order and a length-prefixed encoding. Equals a baked image's `contentDigest` while its
/// files are unchanged, so it detects drift.
public func treeDigest(of directory: URL) throws -> ImageDigest {
    var hasher = CanonicalHasher()
    hasher.string("pyre-tree-v1")
    try FileTree.hash(directory.path, into: &hasher)
    return hasher.finalize()
}
