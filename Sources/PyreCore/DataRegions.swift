#if canImport(Glibc)
import Glibc
#endif

/// The ranges of a sparse file that hold data, as the filesystem says (SEEK_DATA, SEEK_HOLE):
/// its holes read as zeros and need not be read at all.
public enum DataRegions {
    /// Linux's lseek whences, which Swift's Glibc module does not import.
    private static let seekData: Int32 = 3
    private static let seekHole: Int32 = 4

    /// The `[start, end)` byte ranges of the first `size` bytes of `descriptor` that hold data.
    public static func of(_ descriptor: Int32, size: Int64) -> [Range<Int64>] {
        var regions: [Range<Int64>] = []
        var offset: Int64 = 0
        while offset < size {
            let data = lseek(descriptor, off_t(offset), seekData)
            if data < 0 { break }  // ENXIO: only holes from here
            var hole = lseek(descriptor, data, seekHole)
            if hole < 0 { hole = off_t(size) }
            regions.append(Int64(data)..<min(Int64(hole), size))
            offset = Int64(hole)
        }
        return regions
    }
}
