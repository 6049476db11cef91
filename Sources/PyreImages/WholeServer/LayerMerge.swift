#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PyreCore

/// Builds an image's root tree from its layers the way overlayfs reads them: a higher
/// layer's file replaces a lower one's, a whiteout (a character device 0:0) removes a path,
/// an opaque directory (`trusted.overlay.opaque=y`) hides everything below it in lower
/// layers. Files are hard links into the layers, so a base shared by many images is
/// stored once; directories are the root's own.
enum LayerMerge {
    /// Applies `layer` onto `root`, which holds the layers below it merged; each file linked
    /// whose hash `contents` has goes into `known`.
    static func apply(_ layer: URL, onto root: URL, contents: LayerContents? = nil,
                      known: inout [String: RootListing.KnownFile]) throws {
        var info = stat()
        guard lstat(layer.path, &info) == 0 else { throw posixError("cannot inspect", layer.path) }
        try setOwnerAndMode(root.path, owner: info.st_uid, group: info.st_gid, mode: info.st_mode & 0o7777)
        try FileTree.walk(layer.path) { entry in
            let target = root.path + "/" + entry.relativePath
            switch entry.kind {
            case .characterDevice where entry.device == 0:
                try FileTree.remove(target)
            case .directory:
                let existing = kind(of: target)
                if existing != .directory || isOpaque(entry.absolutePath) {
                    try FileTree.remove(target)
                    guard mkdir(target, 0o700) == 0 else { throw posixError("cannot create", target) }
                }
                try setOwnerAndMode(target, owner: entry.owner, group: entry.group, mode: entry.mode)
            case .file, .symlink:
                try FileTree.remove(target)
                try linkOrCopy(entry, to: target)
                if entry.kind == .file, let hash = contents?.hashes[entry.relativePath] {
                    known[entry.relativePath] = .init(fileSystem: entry.fileSystem, inode: entry.inode, hash: hash)
                }
            case .characterDevice, .other:
                throw RootListing.specialFile(entry.relativePath)
            }
        }
    }

    private static func kind(of path: String) -> TreeEntry.Kind? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT == S_IFDIR ? .directory : .file
    }

    private static func isOpaque(_ path: String) -> Bool {
        var value: UInt8 = 0
        return systemLgetxattr(path, "trusted.overlay.opaque", &value, 1) == 1 && value == UInt8(ascii: "y")
    }

    /// A hard link, or a copy with the same owner and mode where the layer cache is on
    /// another file system (or the file has too many links).
    private static func linkOrCopy(_ entry: TreeEntry, to target: String) throws {
        if link(entry.absolutePath, target) == 0 { return }
        guard errno == EXDEV || errno == EMLINK else { throw posixError("cannot link", target) }
        if entry.kind == .symlink {
            let destination = try FileTree.linkTarget(of: entry.absolutePath) + [0]
            let created = destination.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { symlink($0.baseAddress!, target) }
            }
            guard created == 0 else { throw posixError("cannot create symlink", target) }
            guard lchown(target, entry.owner, entry.group) == 0 else { throw posixError("cannot chown", target) }
        } else {
            try FileTree.copyFile(entry.absolutePath, to: target, mode: entry.mode)
            guard lchown(target, entry.owner, entry.group) == 0, chmod(target, entry.mode) == 0 else {
                throw posixError("cannot set the owner of", target)
            }
        }
    }

    static func setOwnerAndMode(_ path: String, owner: uid_t, group: gid_t, mode: mode_t) throws {
        // chown clears setuid bits: owner first, then the mode.
        guard lchown(path, owner, group) == 0 else { throw posixError("cannot chown", path) }
        guard chmod(path, mode) == 0 else { throw posixError("cannot chmod", path) }
    }
}

/// lgetxattr(2), which Glibc's Swift module does not export.
@_silgen_name("lgetxattr")
private func systemLgetxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?,
                             _ size: Int) -> Int
