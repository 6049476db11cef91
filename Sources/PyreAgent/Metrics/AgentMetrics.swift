import Foundation
import PyreAPI
import PyreCore
import Prometheus

/// The agent's Prometheus metrics, served at `GET /metrics` on the control address (with the
/// control token) and listed in docs/metrics.md. Counters and histograms are recorded as things
/// happen; what the agent's journal or the present already says (deployments, servers, the
/// agent process) is read at each scrape, so the deployment counts survive a restart.
final class AgentMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let appendDuration: DurationHistogram
    private let appendedEvents: Counter
    private let healthCheckDuration: DurationHistogram
    private let eventReads: [EventRead: Counter]
    private let eventsRead: Counter
    private let passedHealthChecks: Counter
    private let failedHealthChecks: Counter

    /// Deploys take seconds to hours.
    static let deploymentBuckets: [Double] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600]
    /// Appends take a fraction of a millisecond to a few hundred.
    static let appendBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
        .map { .microseconds(Int64($0 * 1_000_000)) }
    /// Probes answer in a millisecond or time out after seconds.
    static let healthCheckBuckets: [Duration] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        .map { .microseconds(Int64($0 * 1_000_000)) }

    init() {
        appendDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor("event_append_duration", unit: "seconds",
                                        help: "Time the events API took to store one append (a batch of events)."),
            labels: [], buckets: Self.appendBuckets)
        appendedEvents = registry.makeCounter(
            descriptor: Self.descriptor("events_appended", unit: "total", help: "Events stored through the events API."),
            labels: [])
        healthCheckDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor("health_check_duration", unit: "seconds",
                                        help: "Time one health probe took, passed or failed."),
            labels: [], buckets: Self.healthCheckBuckets)
        let reads = Self.descriptor("event_reads", unit: "total",
                                    help: "Reads of the events API: a stream, $all, or a subscription (replays).")
        let registry = registry
        eventReads = Dictionary(uniqueKeysWithValues: EventRead.allCases.map {
            ($0, registry.makeCounter(descriptor: reads, labels: [("kind", $0.rawValue)]))
        })
        eventsRead = registry.makeCounter(
            descriptor: Self.descriptor("events_read", unit: "total", help: "Events served by stream and $all reads."),
            labels: [])
        let checks = Self.descriptor("health_checks", unit: "total", help: "Health probes of servers by result.")
        passedHealthChecks = registry.makeCounter(descriptor: checks, labels: [("result", "pass")])
        failedHealthChecks = registry.makeCounter(descriptor: checks, labels: [("result", "fail")])
    }

    private static func descriptor(_ name: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "pyre", metricName: name, unitName: unit, helpText: help)
    }

    func eventsAppended(_ count: Int, took duration: Duration) {
        appendedEvents.increment(by: Int64(count))
        appendDuration.record(duration)
    }

    enum EventRead: String, CaseIterable {
        case stream, all, subscription
    }

    func eventReadStarted(_ kind: EventRead) { eventReads[kind]?.increment() }
    func eventsRead(_ count: Int) { eventsRead.increment(by: Int64(count)) }

    func healthChecked(passed: Bool, took duration: Duration) {
        (passed ? passedHealthChecks : failedHealthChecks).increment()
        healthCheckDuration.record(duration)
    }

    /// The exposition: what was recorded, then the deployments of `history`, the servers of
    /// `status`, what the layers counted and this process.
    func exposition(history: [DeploymentRecord], status: StatusReport, layers: LayerCounts) -> [UInt8] {
        var text = registry.emitToBuffer()
        text += Array(Self.deployments(history).utf8)
        text += Array(Self.servers(status).utf8)
        text += Array(layers.text.utf8)
        text += Array(ProcessMetrics.read().utf8)
        return text
    }

    /// `pyre_deployments_total{trigger,outcome}` (heals and phoenix replacements are the
    /// `heal` and `phoenix` triggers) and `pyre_deployment_duration_seconds{trigger}` of the
    /// finished ones, from the journal's history.
    static func deployments(_ history: [DeploymentRecord]) -> String {
        var durations: [String: [Double]] = [:]
        for record in history {
            if let finished = record.finishedAt {
                durations[record.trigger.rawValue, default: []].append(max(0, finished.timeIntervalSince(record.startedAt)))
            }
        }
        var text = MetricFamily.counting("pyre_deployments_total", .counter, "Deployments by what started them and how they ended.",
                                         history.map { record in
                                             [("trigger", record.trigger.rawValue),
                                              ("outcome", record.outcome.rawValue.replacingOccurrences(of: " ", with: "_"))]
                                         }).text
        text += "# HELP pyre_deployment_duration_seconds How long finished deployments took, by what started them.\n"
            + "# TYPE pyre_deployment_duration_seconds histogram\n"
        for (trigger, seconds) in durations.sorted(by: { $0.key < $1.key }) {
            for bound in deploymentBuckets {
                text += "pyre_deployment_duration_seconds_bucket{trigger=\"\(trigger)\",le=\"\(bound)\"} "
                    + "\(seconds.filter { $0 <= bound }.count)\n"
            }
            text += "pyre_deployment_duration_seconds_bucket{trigger=\"\(trigger)\",le=\"+Inf\"} \(seconds.count)\n"
            text += "pyre_deployment_duration_seconds_sum{trigger=\"\(trigger)\"} \(seconds.reduce(0, +))\n"
            text += "pyre_deployment_duration_seconds_count{trigger=\"\(trigger)\"} \(seconds.count)\n"
        }
        return text
    }

    /// `pyre_servers{service,generation,health}`: live servers counted by what they are.
    static func servers(_ status: StatusReport) -> String {
        MetricFamily.counting("pyre_servers", .gauge, "Live servers by service, generation and health.",
                              status.services.flatMap { service in
                                  service.servers.map { [("service", service.name), ("generation", "\($0.generation)"),
                                                         ("health", $0.health.rawValue)] }
                              }).text
    }
}

/// The standard process metrics Prometheus's own clients export, from /proc.
enum ProcessMetrics {
    static func read() -> String {
        var text = ""
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after the command: state is the 3rd of the line, utime the 14th, stime the 15th.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                text += "# HELP process_cpu_seconds_total User and system CPU time of the agent.\n"
                    + "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total \((user + system) / ticks)\n"
            }
        }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
           let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            text += "# HELP process_resident_memory_bytes Resident memory of the agent.\n"
                + "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes \(kilobytes * 1024)\n"
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            text += "# HELP process_open_fds Open file descriptors of the agent.\n"
                + "# TYPE process_open_fds gauge\nprocess_open_fds \(descriptors.count)\n"
        }
        return text
    }
}
