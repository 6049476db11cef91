#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation
import PyreCore

/// One entry of a directory tree, seen without following symlinks.
struct TreeEntry {
    enum Kind { case directory, file, symlink, characterDevice, other }

    var kind: Kind
    /// Path relative to the walked root, `/`-separated, never empty.
    var relativePath: String
    var absolutePath: String
    /// Permission bits (`st_mode & 0o7777`).
    var mode: mode_t
    var owner: uid_t
    var group: gid_t
    /// The device a character device stands for (0 for an overlay whiteout).
    var device: dev_t
    /// Which file system holds it, and its inode there: a file's identity.
    var fileSystem: dev_t
    var inode: ino_t
    var size: off_t
}

/// POSIX-level operations on directory trees: walking, hashing, copying, freezing, removing.
/// Copying and removing are public: the local provider copies images and removes server
/// directories, which may hold read-only trees, with the same code.
public enum FileTree {
    /// Visits every entry below `root` (not `root` itself), parents before their children
    /// and siblings in the UTF-8 byte order of their names, so the order is the same on
    /// every machine. A directory is visited before it is listed, so `visit` may chmod it.
    static func walk(_ root: String, _ visit: (TreeEntry) throws -> Void) throws {
        try walk(root, relativePrefix: "", visit)
    }

    private static func walk(_ directory: String, relativePrefix: String,
                             _ visit: (TreeEntry) throws -> Void) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw PyreError(.bake, "cannot list \(directory): \(error.localizedDescription); check that it exists and is readable")
        }
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let entry = try self.entry(at: directory + "/" + name, relativePath: relativePrefix + name)
            try visit(entry)
            if entry.kind == .directory {
                try walk(entry.absolutePath, relativePrefix: entry.relativePath + "/", visit)
            }
        }
    }

    static func entry(at path: String, relativePath: String) throws -> TreeEntry {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw posixError("cannot inspect", path) }
        let kind: TreeEntry.Kind = switch info.st_mode & S_IFMT {
        case S_IFDIR: .directory
        case S_IFREG: .file
        case S_IFLNK: .symlink
        case S_IFCHR: .characterDevice
        default: .other
        }
        return TreeEntry(kind: kind, relativePath: relativePath, absolutePath: path, mode: info.st_mode & 0o7777,
                         owner: info.st_uid, group: info.st_gid, device: info.st_rdev, fileSystem: info.st_dev, inode: info.st_ino, size: info.st_size)
    }

    /// Appends the canonical encoding of the tree below `root` to `hasher`: for every entry
    /// its type, relative path, permission bits without the write bits (every image is
    /// frozen read-only, so write bits never survive into one, and a writable copy of an
    /// image still hashes like the image), and the SHA-256 of a file's contents or a
    /// symlink's target. Owners and timestamps are left out: they differ between machines.
    static func hash(_ root: String, into hasher: inout CanonicalHasher) throws {
        try walk(root) { entry in
            switch entry.kind {
            case .directory:
                hasher.tag("d")
                hasher.string(entry.relativePath)
                hasher.integer(UInt64(entry.mode & ~0o222))
            case .file:
                hasher.tag("f")
                hasher.string(entry.relativePath)
                hasher.integer(UInt64(entry.mode & ~0o222))
                hasher.bytes(try contentHash(of: entry.absolutePath))
            case .symlink:
                hasher.tag("l")
                hasher.string(entry.relativePath)
                hasher.bytes(try linkTarget(of: entry.absolutePath))
            case .characterDevice, .other:
                throw unsupported(entry)
            }
        }
        hasher.tag("e")
    }

    /// Copies the tree below `source` into a new directory `destination`, keeping permission
    /// bits and symlinks as they are; with `writable`, the owner may also write to every file
    /// and directory of the copy (a process-mode server's scratch copy of its image).
    public static func copy(_ source: String, to destination: String, writable: Bool = false) throws {
        let (fileBits, directoryBits): (mode_t, mode_t) = writable ? (0o200, 0o700) : (0, 0)
        guard mkdir(destination, 0o755) == 0 else { throw posixError("cannot create", destination) }
        // Directories get their final mode last, so read-only ones can still be filled.
        var directoryModes: [(path: String, mode: mode_t)] = []
        try walk(source) { entry in
            let target = destination + "/" + entry.relativePath
            switch entry.kind {
            case .directory:
                guard mkdir(target, 0o700) == 0 else { throw posixError("cannot create", target) }
                directoryModes.append((target, entry.mode | directoryBits))
            case .file:
                try copyFile(entry.absolutePath, to: target, mode: entry.mode | fileBits)
            case .symlink:
                let linkTarget = try linkTarget(of: entry.absolutePath) + [0]
                let created = linkTarget.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { symlink($0.baseAddress!, target) }
                }
                guard created == 0 else { throw posixError("cannot create symlink", target) }
            case .characterDevice, .other:
                throw unsupported(entry)
            }
        }
        for (path, mode) in directoryModes.reversed() {
            guard chmod(path, mode) == 0 else { throw posixError("cannot chmod", path) }
        }
    }

    /// Removes the write bits from `root` and every file and directory below it.
    static func freeze(_ root: String) throws {
        try walk(root) { entry in
            guard entry.kind == .directory || entry.kind == .file else { return }
            guard chmod(entry.absolutePath, entry.mode & ~0o222) == 0 else {
                throw posixError("cannot make read-only", entry.absolutePath)
            }
        }
        try setMode(of: root) { $0 & ~0o222 }
    }

    /// Deletes `path` and everything below it, first giving the owner access to every
    /// directory so frozen (read-only) trees can be removed. A missing path is fine.
    public static func remove(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw posixError("cannot inspect", path)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            try setMode(of: path) { $0 | 0o700 }
            try walk(path) { entry in
                guard entry.kind == .directory else { return }
                guard chmod(entry.absolutePath, entry.mode | 0o700) == 0 else {
                    throw posixError("cannot chmod", entry.absolutePath)
                }
            }
        }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw PyreError(.bake, "cannot remove \(path): \(error.localizedDescription); remove it by hand")
        }
    }

    /// Applies `change` to the permission bits of `path`.
    static func setMode(of path: String, _ change: (mode_t) -> mode_t) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw posixError("cannot inspect", path) }
        guard chmod(path, change(info.st_mode & 0o7777)) == 0 else { throw posixError("cannot chmod", path) }
    }

    static func contentHash(of path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("cannot open", path) }
        defer { close(fd) }
        var sha = SHA256()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw posixError("cannot read", path) }
            if count == 0 { break }
            sha.update(data: buffer[0..<count])
        }
        return Array(sha.finalize())
    }

    static func copyFile(_ source: String, to target: String, mode: mode_t) throws {
        let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw posixError("cannot open", source) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw posixError("cannot create", target) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw posixError("cannot read", source) }
            if count == 0 { break }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { throw posixError("cannot write", target) }
                written += result
            }
        }
        guard fchmod(output, mode) == 0 else { throw posixError("cannot chmod", target) }
    }

    static func linkTarget(of path: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBytes { readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard count >= 0 else { throw posixError("cannot read symlink", path) }
        return Array(buffer[0..<count])
    }

    static func unsupported(_ entry: TreeEntry) -> PyreError {
        PyreError(.bake, "\(entry.absolutePath) is not a file, directory or symlink (a socket, FIFO or device?); images hold only those three, so remove it")
    }
}

/// A `PyreError(.bake)` for a failed system call, naming the path and `errno`.
func posixError(_ action: String, _ path: String) -> PyreError {
    let reason = String(cString: strerror(errno))
    return PyreError(.bake, "\(action) \(path): \(reason); check the path and its permissions")
}
