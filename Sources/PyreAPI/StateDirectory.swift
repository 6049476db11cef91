import Foundation
import PyreCore

#if canImport(Glibc)
import Glibc
#endif

/// The layout of a system's state directory. Persistent data and volatile data live in
/// visibly separate halves: deleting `volatile/` loses nothing that must survive.
public struct StateDirectory: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root.standardizedFileURL }

    public var persistent: URL { root.appendingPathComponent("persistent") }
    public var volatile: URL { root.appendingPathComponent("volatile") }
    /// The agent's own history (`$pyre-agent`).
    public var eventsDatabase: URL { persistent.appendingPathComponent("events.sqlite") }
    /// The applications' event store (the events API), when its backend is SQLite.
    public var applicationEventsDatabase: URL { persistent.appendingPathComponent("app-events.sqlite") }
    /// The central log store's segments.
    public var logs: URL { persistent.appendingPathComponent("logs") }
    public var images: URL { volatile.appendingPathComponent("images") }
    public var servers: URL { volatile.appendingPathComponent("servers") }
    /// Where the running agent's control API listens.
    public var agentFile: URL { root.appendingPathComponent("agent.json") }
    /// Bearer token for the control API; mode 0600.
    public var tokenFile: URL { root.appendingPathComponent("token") }
    /// Bearer token for the events API, which servers get too; mode 0600.
    public var eventsTokenFile: URL { root.appendingPathComponent("events-token") }
    public var lockFile: URL { root.appendingPathComponent("agent.lock") }
    /// Disks and upload journals of AMIs being made (provider aws), while they are needed.
    public var amiBakes: URL { volatile.appendingPathComponent("ami-bakes") }
    /// The AMIs `pyre bake` made from whole-server images (provider aws), by region and digest.
    public var bakedAMIsFile: URL { root.appendingPathComponent("aws-amis.json") }
    /// The agent's own certificate authority and the certificate it serves servers on a network
    /// with (provider aws); the keys have mode 0600.
    public var tlsDirectory: URL { persistent.appendingPathComponent("tls") }
    /// The CA certificate that checks the agent's TLS services as they run now (its own CA's, or
    /// the one `aws: tls:` names): what servers are given and the CLI trusts.
    public var servedCAFile: URL { tlsDirectory.appendingPathComponent("served-ca.pem") }

    /// Creates the directories that do not exist yet, for the owner only: the persistent half
    /// holds every event and log line, and namespace-mode servers of other systems see the
    /// host read-only (a server reaches its own image through the sandbox, which hides this
    /// directory and re-exposes the image). A directory made before Pyre restricted it has
    /// group and other permissions taken away.
    public func create() throws {
        try FileManager.default.createDirectory(at: root.deletingLastPathComponent(), withIntermediateDirectories: true)
        for directory in [root, persistent, volatile, images, servers] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        try OwnerOnly.restrict(root.path)
        try OwnerOnly.restrictTree(persistent.path)
    }

    /// The control API token, created at first start with mode 0600.
    public func loadOrCreateToken() throws -> String { try loadOrCreateToken(at: tokenFile) }

    /// The events API token, created at first start with mode 0600.
    public func loadOrCreateEventsToken() throws -> String { try loadOrCreateToken(at: eventsTokenFile) }

    private func loadOrCreateToken(at tokenFile: URL) throws -> String {
        if let existing = try? readToken(at: tokenFile) { return existing }
        let token = SecretToken.random()
        let descriptor = open(tokenFile.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw PyreError(.agent, "cannot create \(tokenFile.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        _ = token.withCString { write(descriptor, $0, strlen($0)) }
        fsync(descriptor)
        return token
    }

    public func readToken() throws -> String { try readToken(at: tokenFile) }

    public func readEventsToken() throws -> String { try readToken(at: eventsTokenFile) }

    private func readToken(at tokenFile: URL) throws -> String {
        do {
            return try String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw PyreError(.agent, "cannot read the token at \(tokenFile.path); is this the right --state-dir, and has its agent started?")
        }
    }
}

/// Where a running agent can be reached; written to `STATE/agent.json` once it listens.
public struct AgentEndpoint: Codable, Sendable, Equatable {
    public var url: String
    public var pid: Int32
    public var system: String
    public var startedAt: Date
    /// The events API; absent in files written before it existed.
    public var events: String?
    /// `HOST:PORT` of the syslog receiver (UDP and TCP); absent in files written before it existed.
    public var syslog: String?
    /// `HOST:PORT` of the RELP receiver; absent in files written before it existed.
    public var relp: String?

    public init(url: String, pid: Int32, system: String, startedAt: Date, events: String? = nil, syslog: String? = nil,
                relp: String? = nil) {
        self.url = url
        self.pid = pid
        self.system = system
        self.startedAt = startedAt
        self.events = events
        self.syslog = syslog
        self.relp = relp
    }

    public func write(to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: file, options: .atomic)
        // Like everything in the state directory: its owner's only.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
    }

    public static func read(from file: URL) throws -> AgentEndpoint {
        guard let data = try? Data(contentsOf: file) else {
            throw PyreError(.agent, "no agent is running for this system (\(file.path) is missing); start one with `pyre up DIR`")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let endpoint = try decoder.decode(AgentEndpoint.self, from: data)
        // A file left behind by an agent that was killed names a process that is gone.
        if kill(endpoint.pid, 0) != 0 && errno == ESRCH {
            throw PyreError(.agent, "the agent that wrote \(file.path) (pid \(endpoint.pid)) is not running; start one with `pyre up DIR`")
        }
        return endpoint
    }
}
