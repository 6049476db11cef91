import PyreDNS
import PyreEntrypoints
import PyreLogs

/// What the identity and persistent layers counted since the agent started, gathered at each
/// scrape: each module keeps plain counters and knows nothing of Prometheus.
struct LayerCounts {
    var dnsQueries: DNSQueryCounts
    var entrypoints: [(name: String, statistics: EntrypointStatistics)]
    var logs: LogWriter.Statistics
    var logStoreBytes: Int

    /// The exposition of these counts.
    var text: String {
        (dnsFamilies + entrypointFamilies + logFamilies).map(\.text).joined()
    }

    private var dnsFamilies: [MetricFamily] {
        let answered: [MetricFamily.Sample] = dnsQueries.answeredQueries.map {
            ([("rcode", $0.rcode), ("transport", $0.transport.name)], Double($0.queries))
        }
        return [
            MetricFamily("pyre_dns_queries_total", .counter, "DNS queries answered by transport and response code.", answered),
            MetricFamily("pyre_dns_relayed_queries_total", .counter,
                         "DNS queries for names outside the zone relayed to the host's resolvers.",
                         [([], Double(dnsQueries.relayedQueries))]),
        ]
    }

    private var entrypointFamilies: [MetricFamily] {
        func family(_ name: String, _ help: String, _ value: KeyPath<EntrypointStatistics, Int>) -> MetricFamily {
            MetricFamily(name, .counter, help, entrypoints.map { ([("entrypoint", $0.name)], Double($0.statistics[keyPath: value])) })
        }
        var bytes: [MetricFamily.Sample] = []
        for entry in entrypoints {
            bytes.append(([("direction", "from_clients"), ("entrypoint", entry.name)], Double(entry.statistics.bytesFromClients)))
            bytes.append(([("direction", "from_backends"), ("entrypoint", entry.name)], Double(entry.statistics.bytesFromBackends)))
        }
        return [
            family("pyre_entrypoint_connections_total", "Client connections an entry point accepted.", \.connections),
            family("pyre_entrypoint_refused_total", "Connections reset because no published backend took them.", \.refused),
            family("pyre_entrypoint_backend_errors_total",
                   "Backend connects that failed or timed out, and backends that reset or failed a connection.", \.backendErrors),
            MetricFamily("pyre_entrypoint_bytes_total", .counter,
                         "Bytes relayed by ended connections: from clients to backends and back.", bytes),
        ]
    }

    private var logFamilies: [MetricFamily] {
        var received: [MetricFamily.Sample] = [], stored: [MetricFamily.Sample] = [], dropped: [MetricFamily.Sample] = []
        for transport in LogTransport.allCases {
            let counts = logs.transports[transport] ?? LogWriter.TransportCounts()
            received.append(([("transport", transport.rawValue)], Double(counts.received)))
            stored.append(([("transport", transport.rawValue)], Double(counts.stored)))
            dropped.append(([("reason", "refused"), ("transport", transport.rawValue)], Double(counts.refused)))
            dropped.append(([("reason", "write_failed"), ("transport", transport.rawValue)], Double(counts.lost)))
        }
        return [
            MetricFamily("pyre_log_records_received_total", .counter, "Log records taken in, by the way they came.", received),
            MetricFamily("pyre_log_records_stored_total", .counter, "Log records committed to the store, by the way they came.",
                         stored),
            MetricFamily("pyre_log_records_dropped_total", .counter,
                         "Log records refused (a UDP burst at a full backlog, or a stopping writer) or lost with a batch that could not be written.",
                         dropped),
            MetricFamily("pyre_log_store_bytes", .gauge, "Bytes of committed records in the log store.", [([], Double(logStoreBytes))]),
        ]
    }
}
