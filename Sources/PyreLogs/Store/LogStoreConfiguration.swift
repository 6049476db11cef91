import Foundation

/// Where the log store keeps its segments and how long it keeps them.
public struct LogStoreConfiguration: Sendable {
    public var directory: URL
    /// A segment is sealed and a new one started past this size; retention removes whole segments.
    public var segmentBytes: Int
    /// Segments whose newest record is older than this are removed; nil keeps them by age.
    public var maxAge: Duration?
    /// Oldest segments are removed while the store is larger than this; nil keeps them by size.
    public var maxBytes: Int?

    public static let defaultSegmentBytes = 64 << 20

    public init(directory: URL, segmentBytes: Int = defaultSegmentBytes, maxAge: Duration? = .seconds(30 * 86_400),
                maxBytes: Int? = 10 << 30) {
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }
}
