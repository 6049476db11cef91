import Foundation
import PyreCore

/// Settings of a ``LocalProvider``.
public struct LocalProviderConfiguration: Sendable {
    /// Name of the system whose servers this provider runs; names the bridge in namespace mode.
    public var system: String
    /// `STATE/volatile/servers`; each server gets `serversDirectory/<id>/`.
    public var serversDirectory: URL
    public var isolation: IsolationMode
    /// Namespace mode: the servers' IPv4 subnet. The bridge gets the first address in it,
    /// servers the following ones. Each system on a machine needs its own: the default is
    /// a /24 in 10.213.0.0/16 picked from a hash of the system name.
    public var subnet: String
    /// Process mode: servers listen on `PREFIX.x.y`, one address per live server. The default
    /// is `127.N` with N from a hash of the system name; while another Pyre system on this
    /// machine holds it, the next free one (``LoopbackClaim``). A prefix set here is used as it
    /// is. Addresses whose port is taken (by anyone) are skipped either way.
    public var loopbackPrefix: String {
        didSet { loopbackPrefixIsDefault = false }
    }
    /// Whether `loopbackPrefix` is the one from the name, which gives way to another system's.
    private(set) var loopbackPrefixIsDefault = true
    /// How long destroy waits after SIGTERM before it sends SIGKILL.
    public var stopGracePeriod: Duration = .seconds(3)
    /// Where servers' standard output and error lines go (the log store); nil keeps them
    /// only in the server's directory, which is removed with it.
    public var shipOutput: OutputShipper.Sink?
    /// Namespace mode: the agent's ports on the system address that servers may reach; the
    /// host closes every other port to them.
    public var systemServices = SystemServicePorts()
    /// Namespace mode: what servers must not see of the host, until whole-server images
    /// exist: an empty read-only directory or an empty file takes each one's place. A server
    /// still sees its own image when it lies below one. The default hides password hashes,
    /// home directories and `serversDirectory` (other servers' records and output); the
    /// agent adds the whole state directory.
    public var hiddenPaths: [String]

    public init(system: String, serversDirectory: URL, isolation: IsolationMode) {
        self.system = system
        self.serversDirectory = serversDirectory
        self.isolation = isolation
        subnet = Self.defaultSubnet(for: system)
        hiddenPaths = ["/etc/shadow", "/etc/gshadow", "/root", "/home", serversDirectory.path]
        let hash = UInt32(configHash([system]).prefix(2), radix: 16) ?? 0
        loopbackPrefix = "127.\(LoopbackClaim.octets.lowerBound + hash % UInt32(LoopbackClaim.octets.count))"
    }

    /// `10.213.N.0/24` with N from a hash of `system`, so systems rarely share one by default.
    public static func defaultSubnet(for system: String) -> String {
        let hash = configHash([system])
        return "10.213.\(UInt8(hash.suffix(2), radix: 16) ?? 0).0/24"
    }
}
