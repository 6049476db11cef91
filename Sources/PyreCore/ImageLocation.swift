import Foundation

/// Where the provider finds a server's image, resolved once per deploy by the system's
/// backend from the baked image.
public enum ImageLocation: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The baked, read-only tree of a host-OS image on this machine: the server's working
    /// directory, on the host's operating system.
    case directory(URL)
    /// A whole-server image on this machine: the server's root.
    case root(ImageRoot)
    /// The AMI holding the image, in the provider's region.
    case ami(String)

    /// The baked tree, for a location on this machine.
    public var directory: URL? {
        switch self {
        case .directory(let url): url
        case .root(let root): root.directory
        case .ami: nil
        }
    }

    /// A host-OS image: the server runs on the host's operating system.
    public var isHostOS: Bool {
        if case .directory = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .directory(let url): url.path
        case .root(let root): root.directory.path
        case .ami(let id): id
        }
    }
}

/// A whole-server image's tree, and how a server runs in it.
public struct ImageRoot: Sendable, Equatable, Codable {
    /// The tree that becomes the server's `/`.
    public var directory: URL
    /// Where in it the server starts.
    public var workdir: String
    /// The largest each of the server's /tmp, /var/tmp and /run may grow.
    public var tmpfsBytes: Int

    public init(directory: URL, workdir: String, tmpfsBytes: Int) {
        self.directory = directory
        self.workdir = workdir
        self.tmpfsBytes = tmpfsBytes
    }
}
