import Foundation
@testable import PyreCore
@testable import PyreImages
import Testing

private let diskToolsPresent = ["/usr/sbin/mke2fs", "/usr/sbin/debugfs", "/usr/sbin/mkfs.vfat", "/usr/bin/mcopy", "/usr/sbin/sfdisk"]
    .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

/// The disk an AMI is made from, read back with the real tools: sfdisk sees Pyre's partition
/// table, mtools the EFI system partition with the image's loader, kernel, initrd and an entry
/// naming the root partition, debugfs the image's files in the ext4 root and the link user data
/// starts the server through. The kernel and loader are stand-ins: this machine boots no VM.
@Suite(.enabled(if: diskToolsPresent, "needs e2fsprogs, dosfstools, mtools and fdisk"))
struct BootableDiskTests {

    private let scratch: URL

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    private func tree(bootable: Bool = true) throws -> URL {
        let root = scratch.appendingPathComponent("root")
        var files: [String: Data] = ["app/hello.txt": Data("hello from the image\n".utf8), "etc/os-release": Data("NAME=test\n".utf8)]
        if bootable {
            files["boot/vmlinuz-6.1.0-9-cloud-amd64"] = Data(repeating: 1, count: 10)  // an older kernel, not chosen
            files["boot/vmlinuz-6.1.0-27-cloud-amd64"] = Data(repeating: 7, count: 3 << 20) + Data("kernel end".utf8)
            files["boot/initrd.img-6.1.0-27-cloud-amd64"] = Data(repeating: 13, count: 1 << 20)
            files["usr/lib/systemd/boot/efi/systemd-bootx64.efi"] = Data("MZ stand-in loader".utf8)
            files["sbin/init"] = Data("#!/bin/sh\n".utf8)
            files["usr/bin/cloud-init"] = Data("#!/bin/sh\n".utf8)
        }
        for (path, data) in files {
            let file = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: file)
        }
        return root
    }

    private func image(_ root: URL) -> BakedImage {
        BakedImage(name: "web", digest: ImageDigest("sha256:" + String(repeating: "ab", count: 32)),
                   contentDigest: ImageDigest("sha256:" + String(repeating: "cd", count: 32)), root: root, bakedAt: Date(),
                   base: "test")
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.environment = ["MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/sbin:/usr/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) \(arguments): \(String(decoding: output, as: UTF8.self))")
        return String(decoding: output, as: UTF8.self)
    }

    /// Copies sectors `first...last` of the disk into a file of their own.
    private func extract(_ disk: URL, _ partition: GUIDPartitionTable.Partition, to name: String) throws -> URL {
        let handle = try FileHandle(forReadingFrom: disk)
        defer { try? handle.close() }
        try handle.seek(toOffset: partition.firstSector * 512)
        let data = try handle.read(upToCount: Int(partition.lastSector - partition.firstSector + 1) * 512) ?? Data()
        let file = scratch.appendingPathComponent(name)
        try data.write(to: file)
        return file
    }

    @Test func theDiskHoldsALoaderTheKernelAndTheImageTree() async throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let root = try tree()
        let disk = scratch.appendingPathComponent("disk.img")
        let layout = try await BootableDisk.build(image(root), workdir: "/app", into: disk, scratch: scratch.appendingPathComponent("work"))
        #expect(layout.bytes == 1 << 30, "a small image fits the smallest EBS volume, 1 GiB")
        #expect(try FileManager.default.attributesOfItem(atPath: disk.path)[.size] as? UInt64 == layout.bytes)

        // sfdisk reads the table as Pyre wrote it.
        let listing = try JSONSerialization.jsonObject(with: Data(try run("/usr/sbin/sfdisk", ["--json", disk.path]).utf8))
        let table = try #require((listing as? [String: Any])?["partitiontable"] as? [String: Any])
        #expect(table["label"] as? String == "gpt")
        let partitions = try #require(table["partitions"] as? [[String: Any]])
        #expect(partitions.count == 2)
        #expect((partitions[0]["type"] as? String)?.uppercased() == GUIDPartitionTable.efiSystemType.uuidString)
        #expect((partitions[1]["type"] as? String)?.uppercased() == GUIDPartitionTable.linuxRootX86_64Type.uuidString)
        #expect((partitions[1]["uuid"] as? String)?.uppercased() == layout.table.partitions[1].unique.uuidString)
        #expect(partitions[1]["name"] as? String == "pyre-root")
        let verify = try run("/usr/sbin/sfdisk", ["--verify", disk.path])
        #expect(verify.contains("No errors detected"), "\(verify)")

        // The EFI system partition: the default loader, the newest kernel, its initrd, one entry.
        let esp = try extract(disk, layout.table.partitions[0], to: "esp.img")
        let loader = scratch.appendingPathComponent("BOOTX64.EFI")
        _ = try run("/usr/bin/mcopy", ["-i", esp.path, "::/EFI/BOOT/BOOTX64.EFI", loader.path])
        #expect(try Data(contentsOf: loader) == Data(contentsOf: root.appendingPathComponent("usr/lib/systemd/boot/efi/systemd-bootx64.efi")))
        let kernel = scratch.appendingPathComponent("vmlinuz")
        _ = try run("/usr/bin/mcopy", ["-i", esp.path, "::/vmlinuz", kernel.path])
        #expect(try Data(contentsOf: kernel) == Data(contentsOf: root.appendingPathComponent("boot/vmlinuz-6.1.0-27-cloud-amd64")))
        let entry = try run("/usr/bin/mtype", ["-i", esp.path, "::/loader/entries/pyre.conf"])
        #expect(entry.contains("linux /vmlinuz") && entry.contains("initrd /initrd.img"))
        #expect(entry.contains("root=PARTUUID=\(layout.table.partitions[1].unique.uuidString.lowercased()) rw"), "\(entry)")

        // The root: the image's files, and /opt/pyre/image leading to its working directory.
        let ext4 = try extract(disk, layout.table.partitions[1], to: "root.img")
        #expect(try run("/usr/sbin/debugfs", ["-R", "cat /app/hello.txt", ext4.path]).contains("hello from the image"))
        let link = try run("/usr/sbin/debugfs", ["-R", "stat /opt/pyre/image", ext4.path])
        #expect(link.contains("Type: symlink") && link.contains("Fast link dest: \"/app\""), "\(link)")
        let check = try run("/usr/sbin/e2fsck", ["-fn", ext4.path])
        #expect(check.contains("pyre-root"), "\(check)")
    }

    @Test func anImageThatCannotBootSaysWhichPackagesItLacks() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let error = try #require(throws: PyreError.self) { try BootableDisk.boot(in: try tree(bootable: false), image: "web") }
        for package in ["linux-image-cloud-amd64", "systemd-boot-efi", "systemd-sysv", "cloud-init"] {
            #expect(error.message.contains(package), "\(error.message)")
        }
        #expect(error.message.hasPrefix("image 'web' cannot boot on EC2"))
    }

    @Test func theTableDecodesAsItWasWrittenAndACorruptedOneDoesNot() {
        let table = GUIDPartitionTable(diskGUID: UUID(), sectors: 2_097_152, partitions: [
            .init(type: GUIDPartitionTable.efiSystemType, unique: UUID(), firstSector: 2048, lastSector: 133_119, name: "EFI system"),
            .init(type: GUIDPartitionTable.linuxRootX86_64Type, unique: UUID(), firstSector: 133_120, lastSector: 2_095_103,
                  name: "pyre-root"),
        ])
        var start = [UInt8](repeating: 0, count: 34 * 512)
        for (sector, bytes) in table.encoded() where sector < 34 {
            start.replaceSubrange(Int(sector) * 512..<(Int(sector) * 512 + bytes.count), with: bytes)
        }
        #expect(GUIDPartitionTable.decode(start: start, sectors: table.sectors) == table)
        #expect(Array(start[510...511]) == [0x55, 0xAA] && start[446 + 4] == 0xEE, "a protective MBR")
        start[2 * 512 + 40] ^= 1  // one bit of an entry
        #expect(GUIDPartitionTable.decode(start: start, sectors: table.sectors) == nil)
    }
}
