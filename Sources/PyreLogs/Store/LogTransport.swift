/// How records reached the log store, for its counts.
public enum LogTransport: String, CaseIterable, Sendable {
    case udp, tcp, tls, relp
    /// Servers' standard output and error, shipped by the agent.
    case output
}
