import Foundation

/// Settings of a ``LocalProvider``.
public struct LocalProviderConfiguration: Sendable {
    /// Name of the system whose servers this provider runs; names the bridge in namespace mode.
    public var system: String
    /// `STATE/volatile/servers`; each server gets `serversDirectory/<id>/`.
    public var serversDirectory: URL
    public var isolation: IsolationMode
    /// Namespace mode: the servers' IPv4 subnet. The bridge gets the first address in it,
    /// servers the following ones. Give each system on a machine its own subnet.
    public var subnet: String = "10.213.0.0/16"
    /// Process mode: servers listen on `127.213.x.y`, one address per live server.
    public var loopbackPrefix: String = "127.213"
    /// How long destroy waits after SIGTERM before it sends SIGKILL.
    public var stopGracePeriod: Duration = .seconds(3)

    public init(system: String, serversDirectory: URL, isolation: IsolationMode) {
        self.system = system
        self.serversDirectory = serversDirectory
        self.isolation = isolation
    }
}
