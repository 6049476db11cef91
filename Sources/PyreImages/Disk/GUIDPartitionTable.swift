import Foundation

/// A GUID partition table (UEFI 2.10, chapter 5) for a disk of 512-byte sectors: the
/// protective MBR, the primary header and entries at the start, their backup at the end.
/// Written by Pyre rather than by sfdisk, so that a bake needs no partitioning tool and the
/// same image gives the same table (the GUIDs come from the caller).
public struct GUIDPartitionTable: Sendable, Equatable {
    public struct Partition: Sendable, Equatable {
        public var type: UUID
        public var unique: UUID
        public var firstSector: UInt64
        /// Inclusive, as GPT counts.
        public var lastSector: UInt64
        public var name: String

        public init(type: UUID, unique: UUID, firstSector: UInt64, lastSector: UInt64, name: String) {
            self.type = type
            self.unique = unique
            self.firstSector = firstSector
            self.lastSector = lastSector
            self.name = name
        }
    }

    public static let sectorSize = 512
    /// 128 entries of 128 bytes: 32 sectors, as every tool writes them.
    static let entryCount = 128
    static let entrySize = 128
    static let entrySectors = UInt64(entryCount * entrySize / sectorSize)
    /// The first sector a partition may start at after the primary table.
    public static let firstUsableSector: UInt64 = 2 + entrySectors

    public static let efiSystemType = UUID(uuidString: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B")!
    public static let linuxRootX86_64Type = UUID(uuidString: "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709")!

    public var diskGUID: UUID
    public var sectors: UInt64
    public var partitions: [Partition]

    public init(diskGUID: UUID, sectors: UInt64, partitions: [Partition]) {
        self.diskGUID = diskGUID
        self.sectors = sectors
        self.partitions = partitions
    }

    /// The last sector a partition may end at, before the backup table.
    public var lastUsableSector: UInt64 { sectors - 2 - Self.entrySectors }

    /// The sectors to write at the disk's start (MBR, header, entries) and at its end
    /// (entries, header), each as bytes with the sector it starts at.
    public func encoded() -> [(sector: UInt64, bytes: [UInt8])] {
        let entries = encodedEntries()
        let entriesCRC = CRC32.checksum(entries)
        let primary = header(at: 1, backup: sectors - 1, entriesAt: 2, entriesCRC: entriesCRC)
        let backup = header(at: sectors - 1, backup: 1, entriesAt: sectors - 1 - Self.entrySectors, entriesCRC: entriesCRC)
        return [(0, protectiveMBR()), (1, primary), (2, entries),
                (sectors - 1 - Self.entrySectors, entries), (sectors - 1, backup)]
    }

    /// Reads a table back from the disk's first sectors and its last ones (what ``encoded()``
    /// wrote), checking both CRCs; nil when it is not a valid GPT.
    public static func decode(start: [UInt8], sectors: UInt64) -> GUIDPartitionTable? {
        guard start.count >= Int(firstUsableSector) * sectorSize else { return nil }
        let header = Array(start[sectorSize..<(2 * sectorSize)])
        guard Array(header[0..<8]) == Array("EFI PART".utf8), read32(header, 12) == 92 else { return nil }
        var zeroed = Array(header[0..<92])
        zeroed.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        guard CRC32.checksum(zeroed) == read32(header, 16), read64(header, 32) == sectors - 1 else { return nil }
        let count = Int(read32(header, 80)), size = Int(read32(header, 84))
        let entries = Array(start[(2 * sectorSize)..<(2 * sectorSize + count * size)])
        guard CRC32.checksum(entries) == read32(header, 88) else { return nil }
        var partitions: [Partition] = []
        for index in 0..<count {
            let entry = Array(entries[(index * size)..<((index + 1) * size)])
            let type = guid(entry, 0)
            guard type != UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) else { continue }
            let units = stride(from: 56, to: 128, by: 2).map { UInt16(entry[$0]) | UInt16(entry[$0 + 1]) << 8 }
            let name = String(decoding: units.prefix { $0 != 0 }, as: UTF16.self)
            partitions.append(Partition(type: type, unique: guid(entry, 16), firstSector: read64(entry, 32),
                                        lastSector: read64(entry, 40), name: name))
        }
        return GUIDPartitionTable(diskGUID: guid(header, 56), sectors: sectors, partitions: partitions)
    }

    private func protectiveMBR() -> [UInt8] {
        var mbr = [UInt8](repeating: 0, count: Self.sectorSize)
        // One partition of type 0xEE covering the disk (or as much as 32 bits of sectors reach).
        let entry = 446
        mbr[entry + 1] = 0x00; mbr[entry + 2] = 0x02; mbr[entry + 3] = 0x00  // CHS of sector 1
        mbr[entry + 4] = 0xEE
        mbr[entry + 5] = 0xFF; mbr[entry + 6] = 0xFF; mbr[entry + 7] = 0xFF
        Self.write32(&mbr, entry + 8, 1)
        Self.write32(&mbr, entry + 12, UInt32(min(sectors - 1, UInt64(UInt32.max))))
        mbr[510] = 0x55; mbr[511] = 0xAA
        return mbr
    }

    private func header(at sector: UInt64, backup: UInt64, entriesAt: UInt64, entriesCRC: UInt32) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: Self.sectorSize)
        header.replaceSubrange(0..<8, with: Array("EFI PART".utf8))
        Self.write32(&header, 8, 0x0001_0000)  // revision 1.0
        Self.write32(&header, 12, 92)
        Self.write64(&header, 24, sector)
        Self.write64(&header, 32, backup)
        Self.write64(&header, 40, Self.firstUsableSector)
        Self.write64(&header, 48, lastUsableSector)
        header.replaceSubrange(56..<72, with: Self.bytes(of: diskGUID))
        Self.write64(&header, 72, entriesAt)
        Self.write32(&header, 80, UInt32(Self.entryCount))
        Self.write32(&header, 84, UInt32(Self.entrySize))
        Self.write32(&header, 88, entriesCRC)
        Self.write32(&header, 16, CRC32.checksum(Array(header[0..<92])))
        return header
    }

    private func encodedEntries() -> [UInt8] {
        var entries = [UInt8](repeating: 0, count: Self.entryCount * Self.entrySize)
        for (index, partition) in partitions.enumerated() {
            let base = index * Self.entrySize
            entries.replaceSubrange(base..<(base + 16), with: Self.bytes(of: partition.type))
            entries.replaceSubrange((base + 16)..<(base + 32), with: Self.bytes(of: partition.unique))
            Self.write64(&entries, base + 32, partition.firstSector)
            Self.write64(&entries, base + 40, partition.lastSector)
            for (offset, unit) in partition.name.utf16.prefix(36).enumerated() {
                entries[base + 56 + 2 * offset] = UInt8(unit & 0xFF)
                entries[base + 57 + 2 * offset] = UInt8(unit >> 8)
            }
        }
        return entries
    }

    /// GPT stores a GUID's first three fields little-endian, the rest as they are.
    static func bytes(of guid: UUID) -> [UInt8] {
        let u = guid.uuid
        return [u.3, u.2, u.1, u.0, u.5, u.4, u.7, u.6, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
    }

    private static func guid(_ bytes: [UInt8], _ at: Int) -> UUID {
        let b = Array(bytes[at..<(at + 16)])
        return UUID(uuid: (b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    private static func write32(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    private static func write64(_ bytes: inout [UInt8], _ at: Int, _ value: UInt64) {
        for index in 0..<8 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    private static func read32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }

    private static func read64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }
    }
}

/// CRC-32 as zlib and GPT compute it (reflected polynomial 0xEDB88320).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(~UInt32(0)) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
}
