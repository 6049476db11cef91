/// The part of a `pyre.yml` the agent takes up only when it starts: where servers run,
/// which stores it opens and where it listens. The rest (images, services, entry points,
/// DNS records) is the workload, which every deploy reads afresh.
public struct RuntimeSpec: Sendable, Equatable {
    public var system: String
    public var zone: String
    public var provider: ProviderKind
    public var aws: AWSSpec
    public var events: EventsSpec
    public var logs: LogsSpec
    public var dnsListen: String?

    /// The sections, by their name in pyre.yml, that differ from `other`'s.
    public func changedSections(from other: RuntimeSpec) -> [String] {
        var changed: [String] = []
        if system != other.system { changed.append("system") }
        if zone != other.zone, system == other.system { changed.append("zone") }
        if provider != other.provider { changed.append("provider") }
        if aws != other.aws { changed.append("aws") }
        if events != other.events { changed.append("events") }
        if logs != other.logs { changed.append("logs") }
        if dnsListen != other.dnsListen { changed.append("dns.listen") }
        return changed
    }
}

extension SystemSpec {
    /// What of this manifest the agent reads only at start.
    public var runtime: RuntimeSpec {
        RuntimeSpec(system: name, zone: zone, provider: provider, aws: aws, events: events, logs: logs, dnsListen: dns.listen)
    }
}
