import Crypto
import Foundation
import PyreCore
import PyrePOSIX

/// Turns a whole-server image's root into a disk an EC2 instance boots from (UEFI):
///
/// - a GUID partition table (``GUIDPartitionTable``);
/// - an EFI system partition (FAT32) with the image's systemd-boot as the default loader,
///   the image's newest kernel and its initrd, and one loader entry naming the root partition;
/// - the root partition: ext4 holding the image's tree as it is, plus `/opt/pyre/image`, a
///   link to the image's working directory, where the instance's user data starts the server.
///
/// Filesystems are made by mke2fs (e2fsprogs) and mkfs.vfat with mtools (dosfstools, mtools);
/// the partitions' GUIDs and the filesystems' ids come from the image's digest. (The disk is not
/// byte for byte the same at each bake: mke2fs copies the tree's access times.) Unwritten ranges
/// stay holes in the file, and the upload skips them.
public struct BootableDisk: Sendable {
    /// What an image needs to boot, found in its root.
    public struct Boot: Sendable, Equatable {
        public var kernel: String
        public var initrd: String
        public var loader: String
    }

    public struct Layout: Sendable, Equatable {
        public var file: URL
        public var bytes: UInt64
        public var table: GUIDPartitionTable
    }

    static let loaderPath = "usr/lib/systemd/boot/efi/systemd-bootx64.efi"
    static let mebibyte: UInt64 = 1 << 20
    static let gibibyte: UInt64 = 1 << 30

    /// The kernel, initrd and loader in `root`, or an error naming each missing piece and the
    /// Debian package that brings it.
    public static func boot(in root: URL, image: String) throws -> Boot {
        let boot = root.appendingPathComponent("boot")
        let kernels = ((try? FileManager.default.contentsOfDirectory(atPath: boot.path)) ?? [])
            .filter { $0.hasPrefix("vmlinuz-") }.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        var missing: [String] = []
        let kernel = kernels.last
        let initrd = kernel.map { "initrd.img-" + $0.dropFirst("vmlinuz-".count) }
        if kernel == nil {
            missing.append("a kernel (/boot/vmlinuz-*: package linux-image-cloud-amd64)")
        } else if let initrd, !FileManager.default.fileExists(atPath: boot.appendingPathComponent(initrd).path) {
            missing.append("the kernel's initrd (/boot/\(initrd): package initramfs-tools)")
        }
        if !FileManager.default.fileExists(atPath: root.appendingPathComponent(loaderPath).path) {
            missing.append("a UEFI boot loader (/\(loaderPath): package systemd-boot-efi)")
        }
        for (path, what) in [("sbin/init", "an init (/sbin/init: package systemd-sysv)"),
                             ("usr/bin/cloud-init", "cloud-init, which runs the server from user data (package cloud-init)")]
            where !FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path) {
            missing.append(what)
        }
        guard missing.isEmpty, let kernel, let initrd else {
            throw PyreError(.bake, "image '\(image)' cannot boot on EC2: it has no " + missing.joined(separator: ", no ")
                + ". Add the packages to its base (base: { debian: bookworm, packages: [linux-image-cloud-amd64, "
                + "systemd-sysv, systemd-boot-efi, cloud-init, …] })")
        }
        return Boot(kernel: "boot/" + kernel, initrd: "boot/" + initrd, loader: loaderPath)
    }

    /// Builds the disk of `image`, baked from `spec`'s recipe of that name, into `file`, with
    /// scratch space under `work`.
    public static func build(_ image: BakedImage, of spec: SystemSpec, into file: URL, work: URL) async throws -> Layout {
        try await build(image, workdir: spec.image(named: image.name)?.workdir ?? "/", into: file,
                        scratch: work.appendingPathComponent("scratch-\(image.digest.short)"))
    }

    /// Builds the disk of `image` (its root, digest and working directory) into `file`.
    public static func build(_ image: BakedImage, workdir: String, into file: URL, scratch: URL) async throws -> Layout {
        let boot = try boot(in: image.root, image: image.name)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let ids = DiskIDs(digest: image.digest)

        let bootBytes = try [boot.kernel, boot.initrd, boot.loader].reduce(UInt64(0)) {
            $0 + (try fileSize(image.root.appendingPathComponent($1)))
        }
        let espBytes = roundUp(max(64 * mebibyte, bootBytes + bootBytes / 4 + 16 * mebibyte), to: mebibyte)
        let treeBytes = try treeSize(image.root)
        let start = mebibyte / 512
        // The tree, a quarter more for metadata and room, and 256 MiB for the server's writes.
        let minimum = mebibyte + espBytes + treeBytes + treeBytes / 4 + 256 * mebibyte + mebibyte
        let bytes = roundUp(minimum, to: gibibyte)
        let sectors = bytes / 512
        let espSectors = espBytes / 512
        let table = GUIDPartitionTable(diskGUID: ids.disk, sectors: sectors, partitions: [
            .init(type: GUIDPartitionTable.efiSystemType, unique: ids.esp, firstSector: start,
                  lastSector: start + espSectors - 1, name: "EFI system"),
            .init(type: GUIDPartitionTable.linuxRootX86_64Type, unique: ids.root, firstSector: start + espSectors,
                  lastSector: (sectors - 2 - 32) / (mebibyte / 512) * (mebibyte / 512) - 1, name: "pyre-root"),
        ])
        let rootPartition = table.partitions[1]

        let esp = scratch.appendingPathComponent("esp.img")
        try makeESP(esp, bytes: espBytes, boot: boot, root: image.root, ids: ids, rootPartition: rootPartition.unique)
        let rootFS = scratch.appendingPathComponent("root.img")
        try makeRoot(rootFS, blocks: (rootPartition.lastSector - rootPartition.firstSector + 1) / 8, tree: image.root,
                     workdir: workdir, ids: ids)

        let disk = try DiskFile(creating: file, bytes: bytes)
        for (sector, encoded) in table.encoded() { try disk.write(encoded, at: sector * 512) }
        try disk.copySparse(from: esp, at: table.partitions[0].firstSector * 512)
        try disk.copySparse(from: rootFS, at: rootPartition.firstSector * 512)
        try disk.close()
        return Layout(file: file, bytes: bytes, table: table)
    }

    private static func makeESP(_ file: URL, bytes: UInt64, boot: Boot, root: URL, ids: DiskIDs, rootPartition: UUID) throws {
        try? FileManager.default.removeItem(at: file)
        try Tool.run("mkfs.vfat", package: "dosfstools",
                     ["--invariant", "-F", "32", "-n", "PYRE-EFI", "-i", ids.fatVolumeID, "-C", file.path, "\(bytes / 1024)"])
        let image = "-i" + file.path
        try Tool.run("mmd", package: "mtools", [image, "::/EFI", "::/EFI/BOOT", "::/loader", "::/loader/entries"])
        let options = "root=PARTUUID=\(rootPartition.uuidString.lowercased()) rw console=tty0 console=ttyS0,115200n8"
            + " nvme_core.io_timeout=4294967295"
        let loaderConf = file.deletingLastPathComponent().appendingPathComponent("loader.conf")
        let entry = file.deletingLastPathComponent().appendingPathComponent("pyre.conf")
        try "default pyre.conf\ntimeout 0\n".write(to: loaderConf, atomically: true, encoding: .utf8)
        try "title Pyre\nlinux /vmlinuz\ninitrd /initrd.img\noptions \(options)\n".write(to: entry, atomically: true, encoding: .utf8)
        for (source, target) in [(root.appendingPathComponent(boot.loader).path, "::/EFI/BOOT/BOOTX64.EFI"),
                                 (root.appendingPathComponent(boot.kernel).path, "::/vmlinuz"),
                                 (root.appendingPathComponent(boot.initrd).path, "::/initrd.img"),
                                 (loaderConf.path, "::/loader/loader.conf"), (entry.path, "::/loader/entries/pyre.conf")] {
            try Tool.run("mcopy", package: "mtools", [image, "-m", source, target])
        }
    }

    private static func makeRoot(_ file: URL, blocks: UInt64, tree: URL, workdir: String, ids: DiskIDs) throws {
        try? FileManager.default.removeItem(at: file)
        let uuid = ids.rootFilesystem.uuidString.lowercased()
        try Tool.run("mke2fs", package: "e2fsprogs",
                     ["-q", "-F", "-t", "ext4", "-b", "4096", "-L", "pyre-root", "-U", uuid,
                      "-E", "root_owner=0:0,hash_seed=\(uuid)", "-d", tree.path, file.path, "\(blocks)"])
        // Where user data starts the server (`cd /opt/pyre/image`), whatever the image's workdir.
        // debugfs splits its command at spaces and reads quotes: such a workdir cannot be linked.
        guard !workdir.contains(where: { $0.isWhitespace || "\"'\\".contains($0) }) else {
            throw PyreError(.bake, "workdir '\(workdir)' has a space, quote or backslash, which a disk for EC2 cannot link "
                + "at /opt/pyre/image; choose a workdir without them, such as /app")
        }
        for command in ["mkdir /opt", "mkdir /opt/pyre", "symlink /opt/pyre/image \(workdir)"] {
            try Tool.run("debugfs", package: "e2fsprogs", ["-w", "-R", command, file.path])
        }
        let check = try Tool.run("debugfs", package: "e2fsprogs", ["-R", "stat /opt/pyre/image", file.path])
        guard check.contains("Type: symlink") else {
            throw PyreError(.bake, "could not link /opt/pyre/image to \(workdir) in the disk's root: \(check)")
        }
    }

    static func roundUp(_ value: UInt64, to unit: UInt64) -> UInt64 { (value + unit - 1) / unit * unit }

    static func fileSize(_ url: URL) throws -> UInt64 {
        var info = stat()
        guard stat(url.path, &info) == 0 else { throw PyreError(.bake, "cannot read \(url.path)") }
        return UInt64(info.st_size)
    }

    /// Bytes the tree's files take in 4 KiB blocks, with an inode's worth for each entry.
    static func treeSize(_ root: URL) throws -> UInt64 {
        var total: UInt64 = 0
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return 0 }
        while let path = walker.nextObject() as? String {
            var info = stat()
            guard lstat(root.path + "/" + path, &info) == 0 else { continue }
            total += roundUp(UInt64(max(info.st_size, 0)), to: 4096) + 256
        }
        return total
    }
}

/// Ids of a disk's parts, derived from the image digest: the same image, the same disk.
struct DiskIDs {
    let disk: UUID, esp: UUID, root: UUID, rootFilesystem: UUID
    /// FAT's 32-bit volume id, in hex.
    let fatVolumeID: String

    init(digest: ImageDigest) {
        func uuid(_ label: String) -> UUID {
            var bytes = Array(SHA256.hash(data: Data((label + digest.rawValue).utf8)).prefix(16))
            bytes[6] = bytes[6] & 0x0F | 0x40  // version 4 layout, variant 1: what tools expect
            bytes[8] = bytes[8] & 0x3F | 0x80
            return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        }
        disk = uuid("disk:")
        esp = uuid("esp:")
        root = uuid("root:")
        rootFilesystem = uuid("ext4:")
        fatVolumeID = String(uuid("fat:").uuidString.replacingOccurrences(of: "-", with: "").prefix(8))
    }
}

/// The disk image being written: holes wherever nothing is written.
final class DiskFile {
    private var descriptor: Int32
    private let path: String

    init(creating file: URL, bytes: UInt64) throws {
        path = file.path
        unlink(path)
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0, ftruncate(descriptor, off_t(bytes)) == 0 else {
            throw PyreError(.bake, "cannot create the disk image \(path): \(String(cString: strerror(errno)))")
        }
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else {
            throw PyreError(.bake, "cannot write the disk image \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Copies the data of `source` to `offset`: its holes (SEEK_HOLE) stay holes here, and so do
    /// 64 KiB runs of zeros within its data.
    func copySparse(from source: URL, at offset: UInt64) throws {
        let input = open(source.path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard input >= 0, fstat(input, &info) == 0 else {
            throw PyreError(.bake, "cannot read \(source.path): \(String(cString: strerror(errno)))")
        }
        defer { Glibc.close(input) }
        let chunkSize = 64 << 10
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 8)
        defer { chunk.deallocate() }
        for region in DataRegions.of(input, size: Int64(info.st_size)) {
            var at = off_t(region.lowerBound)
            while at < off_t(region.upperBound) {
                let count = pread(input, chunk.baseAddress, min(chunkSize, Int(off_t(region.upperBound) - at)), at)
                guard count > 0 else { throw PyreError(.bake, "cannot read \(source.path): \(String(cString: strerror(errno)))") }
                let bytes = UnsafeRawBufferPointer(rebasing: chunk[..<count])
                if !ZeroBytes.areAllZero(bytes) {
                    guard pwrite(descriptor, bytes.baseAddress, count, off_t(offset) + at) == count else {
                        throw PyreError(.bake, "cannot write the disk image \(path): \(String(cString: strerror(errno)))")
                    }
                }
                at += off_t(count)
            }
        }
    }

    func close() throws {
        defer { descriptor = -1 }
        guard fsync(descriptor) == 0, Glibc.close(descriptor) == 0 else {
            throw PyreError(.bake, "cannot write the disk image \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }
}

/// The filesystem tools a disk is made with, found in the system's directories.
enum Tool {
    private static let directories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    /// Filesystem timestamps from a fixed time, as the base's are (e2fsprogs reads it).
    private static let environment = ["PATH": directories.joined(separator: ":"), "LC_ALL": "C",
                                      "E2FSPROGS_FAKE_TIME": "1700000000", "MTOOLS_SKIP_CHECK": "1",
                                      "SOURCE_DATE_EPOCH": "1700000000"]

    @discardableResult
    static func run(_ name: String, package: String, _ arguments: [String]) throws -> String {
        let candidates: [String] = directories.map { $0 + "/" + name }
        guard let path = candidates.first(where: { Glibc.access($0, X_OK) == 0 }) else {
            throw PyreError(.bake, "making a bootable disk needs \(name); install the Debian package \(package)")
        }
        let (status, output) = try ProcessSpawner.run([path] + arguments, environment: environment)
        guard status == 0 else {
            throw PyreError(.bake, "\(name) failed with exit status \(status) while making the disk: "
                + output.split(separator: "\n").suffix(5).joined(separator: "; "))
        }
        return output
    }
}
