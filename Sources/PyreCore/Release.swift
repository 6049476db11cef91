import Foundation

/// What one deployment rolled out, kept in the agent's journal so that a later rollback can
/// deploy it again without the manifest or the sources it was made from: the manifest's text
/// as it was, and the digest of each image it baked.
public struct Release: Sendable, Equatable, Codable {
    /// The deployment that first rolled this release out: a rollback's release names the one
    /// it restores; nil in a deployment's own new release (the journal's fold fills it in).
    public var origin: Int?
    /// `pyre.yml` as it was read.
    public var manifest: String
    /// Image name → digest.
    public var images: [String: ImageDigest]

    public init(origin: Int? = nil, manifest: String, images: [String: ImageDigest]) {
        self.origin = origin
        self.manifest = manifest
        self.images = images
    }

    /// Same manifest and images: deploying one over the other changes nothing.
    public func sameContent(as other: Release) -> Bool {
        manifest == other.manifest && images == other.images
    }
}

/// One judgement a deploy made, with the figures it used, for `pyre history N`.
public struct DeployDecision: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A new server's health gate.
        case gate
        /// The canaries' watch beside the old fleet.
        case canaryWatch = "canary watch"
        /// The new fleet's watch after cut-over.
        case fleetWatch = "fleet watch"
        /// A failed release goes back to an earlier one.
        case rollback
        /// Self-healing stopped replacing a slot and failed the release instead.
        case crashLoop = "crash loop"
    }

    public var kind: Kind
    public var service: String
    public var servers: [ServerID]
    public var passed: Bool
    /// What was measured, in words and numbers: "32 probes, 0 failed; error share 0.10% …".
    public var detail: String
    /// The servers that failed it, whose last log lines the flight recorder shows.
    public var culprits: [ServerID]
    public var at: Date

    public init(kind: Kind, service: String, servers: [ServerID], passed: Bool, detail: String,
                culprits: [ServerID] = [], at: Date) {
        self.kind = kind
        self.service = service
        self.servers = servers
        self.passed = passed
        self.detail = detail
        self.culprits = culprits
        self.at = at
    }
}
