#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import PyreCore

/// Writes a directory tree as one POSIX (pax) tar, the same bytes for the same tree on any
/// machine: names in the UTF-8 byte order of ``FileTree/walk(_:_:)``, numeric owners and no
/// owner names, one fixed mtime, no access or change times, no extended attributes; a path
/// seen again as the same inode (a hard link inside the tree) is a hard-link entry. Headers
/// are ustar, with a pax extended header only where ustar cannot say it (long names or link
/// targets, ids or sizes too large). The SHA-256 of the bytes is computed as they are written.
///
/// Only files, directories and symlinks: what a whole-server root holds (``RootListing``).
struct LayerTar {
    /// The mtime of every entry: `SOURCE_DATE_EPOCH` of the bake (2023-11-14 22:13:20 UTC).
    static let modificationTime: Int64 = 1_700_000_000

    struct Written {
        var digest: ImageDigest
        var bytes: Int64
    }

    /// Writes the tree below `root` (not `root` itself) to a new file `output`.
    static func write(_ root: URL, to output: URL) throws -> Written {
        let descriptor = open(output.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw posixError("cannot create", output.path) }
        var writer = Writer(descriptor: descriptor, path: output.path)
        do {
            var firstPath: [Inode: String] = [:]
            try FileTree.walk(root.path) { entry in
                var info = stat()
                guard lstat(entry.absolutePath, &info) == 0 else { throw posixError("cannot inspect", entry.absolutePath) }
                var header = Header(name: entry.relativePath, mode: entry.mode, owner: entry.owner, group: entry.group)
                switch entry.kind {
                case .directory:
                    header.type = .directory
                    header.name += "/"
                    try writer.entry(header)
                case .symlink:
                    header.type = .symlink
                    header.linkTarget = try FileTree.linkTarget(of: entry.absolutePath)
                    try writer.entry(header)
                case .file:
                    let inode = Inode(device: UInt64(info.st_dev), number: UInt64(info.st_ino))
                    if info.st_nlink > 1, let first = firstPath[inode] {
                        header.type = .hardLink
                        header.linkTarget = Array(first.utf8)
                        try writer.entry(header)
                    } else {
                        if info.st_nlink > 1 { firstPath[inode] = entry.relativePath }
                        header.type = .file
                        header.size = Int64(info.st_size)
                        try writer.entry(header)
                        try writer.contents(of: entry.absolutePath, size: header.size)
                    }
                case .characterDevice, .other:
                    throw PyreError(.bake, "/\(entry.relativePath) in the image is a device node, FIFO or socket; a whole-server "
                        + "image holds only files, directories and symlinks, so it cannot be exported")
                }
            }
            // The end of the archive: two zero blocks.
            try writer.append([UInt8](repeating: 0, count: 1024))
            try writer.flush()
            guard fsync(descriptor) == 0 else { throw posixError("cannot write", output.path) }
        } catch {
            close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else { throw posixError("cannot write", output.path) }
        return Written(digest: ImageDigest(sha256: writer.sha.finalize()), bytes: writer.written)
    }

    private struct Inode: Hashable {
        var device: UInt64
        var number: UInt64
    }

    struct Header {
        enum Kind: UInt8 {
            case file = 0x30, hardLink = 0x31, symlink = 0x32, directory = 0x35, paxExtended = 0x78
        }

        var name: String
        var mode: mode_t
        var owner: uid_t
        var group: gid_t
        var size: Int64 = 0
        var type: Kind = .file
        var linkTarget: [UInt8] = []

        /// The 512-byte ustar header, and the pax records for what it cannot hold.
        func encoded() -> (block: [UInt8], pax: [(String, [UInt8])]) {
            var block = [UInt8](repeating: 0, count: 512)
            var pax: [(String, [UInt8])] = []
            let nameBytes = Array(name.utf8)
            if nameBytes.count <= 100 {
                block.replaceSubrange(0..<nameBytes.count, with: nameBytes)
            } else {
                pax.append(("path", nameBytes))
                let short = Array(Self.asciiPrefix(of: name, limit: 100).utf8)
                block.replaceSubrange(0..<short.count, with: short)
            }
            Self.octal(UInt64(mode), width: 8, into: &block, at: 100)
            for (id, offset, key) in [(UInt64(owner), 108, "uid"), (UInt64(group), 116, "gid")] {
                if id <= 0o7777777 {
                    Self.octal(id, width: 8, into: &block, at: offset)
                } else {
                    Self.octal(0, width: 8, into: &block, at: offset)
                    pax.append((key, Array(String(id).utf8)))
                }
            }
            if size <= 0o77777777777 {
                Self.octal(UInt64(size), width: 12, into: &block, at: 124)
            } else {
                Self.octal(0, width: 12, into: &block, at: 124)
                pax.append(("size", Array(String(size).utf8)))
            }
            Self.octal(UInt64(LayerTar.modificationTime), width: 12, into: &block, at: 136)
            block[156] = type.rawValue
            if linkTarget.count <= 100 {
                block.replaceSubrange(157..<(157 + linkTarget.count), with: linkTarget)
            } else {
                pax.append(("linkpath", linkTarget))
            }
            block.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
            // Owner names (265, 297) stay empty: numeric owners only.
            Self.octal(0, width: 8, into: &block, at: 329)
            Self.octal(0, width: 8, into: &block, at: 337)
            Self.checksum(&block)
            return (block, pax)
        }

        /// `width - 1` octal digits, zero-padded, and a NUL.
        static func octal(_ value: UInt64, width: Int, into block: inout [UInt8], at offset: Int) {
            var digits = Array(String(value, radix: 8).utf8)
            digits.insert(contentsOf: [UInt8](repeating: UInt8(ascii: "0"), count: max(0, width - 1 - digits.count)), at: 0)
            block.replaceSubrange(offset..<(offset + width - 1), with: digits)
            block[offset + width - 1] = 0
        }

        /// The sum of the header's bytes with the checksum field as spaces: six octal digits,
        /// a NUL and a space.
        static func checksum(_ block: inout [UInt8]) {
            block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
            let sum = block.reduce(0) { $0 + UInt64($1) }
            octal(sum, width: 7, into: &block, at: 148)
            block[155] = 0x20
        }

        /// A name for the ustar field when the pax `path` holds the real one.
        static func asciiPrefix(of name: String, limit: Int) -> String {
            String(String(name.unicodeScalars.filter(\.isASCII)).prefix(limit))
        }
    }

    /// Buffers the archive's bytes, hashing them, and writes them out in large blocks.
    private struct Writer {
        let descriptor: Int32
        let path: String
        var sha = SHA256()
        var buffer: [UInt8] = []
        var written: Int64 = 0

        init(descriptor: Int32, path: String) {
            self.descriptor = descriptor
            self.path = path
            buffer.reserveCapacity(Self.bufferSize)
        }

        static let bufferSize = 1 << 20

        mutating func entry(_ header: Header) throws {
            let (block, pax) = header.encoded()
            if !pax.isEmpty {
                var records: [UInt8] = []
                for (key, value) in pax { records += Self.paxRecord(key, value) }
                let extended = Header(name: "PaxHeaders/" + Header.asciiPrefix(of: (header.name as NSString).lastPathComponent, limit: 80),
                                      mode: 0o644, owner: 0, group: 0, size: Int64(records.count), type: .paxExtended)
                try append(extended.encoded().block)
                try append(records)
                try pad(Int64(records.count))
            }
            try append(block)
        }

        /// `LENGTH key=value\n`, LENGTH counting the whole record, its own digits included.
        static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
            let rest = 1 + key.utf8.count + 1 + value.count + 1
            var length = rest + String(rest).utf8.count
            if String(length).utf8.count != String(rest).utf8.count { length = rest + String(length).utf8.count }
            return Array("\(length) \(key)=".utf8) + value + [0x0a]
        }

        mutating func contents(of path: String, size: Int64) throws {
            let input = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard input >= 0 else { throw posixError("cannot open", path) }
            defer { close(input) }
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            var total: Int64 = 0
            while true {
                let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else { throw posixError("cannot read", path) }
                if count == 0 { break }
                total += Int64(count)
                guard total <= size else { break }
                try append(chunk[0..<count])
            }
            guard total == size else {
                throw PyreError(.bake, "\(path) changed while it was exported (\(total) bytes, not \(size)); export again")
            }
            try pad(size)
        }

        mutating func pad(_ size: Int64) throws {
            let remainder = Int(size % 512)
            if remainder != 0 { try append([UInt8](repeating: 0, count: 512 - remainder)) }
        }

        mutating func append(_ bytes: some DataProtocol) throws {
            sha.update(data: bytes)
            buffer.append(contentsOf: bytes)
            written += Int64(bytes.count)
            if buffer.count >= Self.bufferSize { try flush() }
        }

        mutating func flush() throws {
            var offset = 0
            while offset < buffer.count {
                let result = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { throw posixError("cannot write", path) }
                offset += result
            }
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
