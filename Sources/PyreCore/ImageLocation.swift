import Foundation

/// Where the provider finds a server's image, resolved once per deploy by the system's
/// backend from the baked image.
public enum ImageLocation: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The baked, read-only tree on this machine.
    case directory(URL)
    /// The AMI holding the image, in the provider's region.
    case ami(String)

    /// The directory, for a location on this machine.
    public var directory: URL? {
        if case .directory(let url) = self { url } else { nil }
    }

    public var description: String {
        switch self {
        case .directory(let url): url.path
        case .ami(let id): id
        }
    }
}
