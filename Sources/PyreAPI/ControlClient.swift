import Foundation
import NIOCore
import PyreCore

/// The CLI's side of the control API: one method per route.
public struct ControlClient: Sendable {
    public let endpoint: AgentEndpoint
    let api: APIClient

    /// Finds the running agent through `STATE/agent.json` and `STATE/token`.
    public init(state: StateDirectory) throws {
        endpoint = try AgentEndpoint.read(from: state.agentFile)
        api = APIClient(url: endpoint.url, token: try state.readToken(), name: "the agent") { status in
            status == .conflict ? .deployRunning : status == .unauthorized ? .unauthorized : .agent
        }
    }

    public func status() async throws -> StatusReport {
        try await api.json(ControlRoutes.status.request(), timeout: .seconds(30))
    }

    public func history() async throws -> [DeploymentRecord] {
        try await api.json(ControlRoutes.history.request(), timeout: .seconds(30))
    }

    /// A one-time login code for the dashboard.
    public func dashboardLoginCode() async throws -> LoginCode {
        try await api.json(ControlRoutes.loginCode.request(), timeout: .seconds(30))
    }

    public func dns() async throws -> DNSReport {
        try await api.json(ControlRoutes.dns.request(), timeout: .seconds(30))
    }

    /// `query`: the parameters of `GET /v1/logs` (`service`, `since`, `limit`, …).
    public func logs(_ query: [(String, String)]) async throws -> LogsPage {
        try await api.json(ControlRoutes.logs.request(query: query), timeout: .seconds(30))
    }

    /// The newest matching records, then each new one as it is stored, until cancelled.
    public func followLogs(_ query: [(String, String)], onRecord: (LogLine) throws -> Void) async throws {
        try await api.serverSentEvents(ControlRoutes.logs.request(query: query + [("follow", "true")])) { data in
            try onRecord(try JSONDecoder.pyre.decode(LogLine.self, from: Data(data.utf8)))
        }
    }

    /// Removes the images the system's live servers and last `keep` deployments do not use,
    /// and the machine's unused layers.
    public func collectImages(keep: Int) async throws -> ImageGCReport {
        try await api.json(ControlRoutes.collectImages.request(query: [("keep", String(keep))]), timeout: .seconds(600))
    }

    /// One deployment as the flight recorder tells it.
    public func timeline(of deployment: Int) async throws -> TimelineReport {
        try await api.json(ControlRoutes.timeline.request(String(deployment)), timeout: .seconds(30))
    }

    /// With `rollback`, what `pyre rollback` (to deployment `to`, or the one before) would do.
    public func plan(rollback: Bool = false, to: Int? = nil) async throws -> PlanReport {
        try await api.json(ControlRoutes.plan.request(query: Self.rollbackQuery(rollback, to)), timeout: .seconds(600))
    }

    /// Each streamed operation hands its progress to `onEvent` as it arrives and returns its
    /// result (`ProgressEvent.isResult`). `canary` is `only` or `skip` to change the canary phase.
    public func deploy(canary: String? = nil, onEvent: (ProgressEvent) -> Void) async throws -> ProgressEvent {
        let request = ControlRoutes.deploy.request(query: canary.map { [("canary", $0)] } ?? [])
        return try await stream(request, operation: "deploy", onEvent: onEvent)
    }

    public func rollback(to: Int?, onEvent: (ProgressEvent) -> Void) async throws -> ProgressEvent {
        try await stream(ControlRoutes.rollback.request(query: Self.rollbackQuery(false, to)), operation: "rollback",
                         onEvent: onEvent)
    }

    public func promote(onEvent: (ProgressEvent) -> Void) async throws -> ProgressEvent {
        try await stream(ControlRoutes.promote.request(), operation: "promote", onEvent: onEvent)
    }

    private static func rollbackQuery(_ rollback: Bool, _ to: Int?) -> [(String, String)] {
        (rollback ? [("rollback", "true")] : []) + (to.map { [("to", String($0))] } ?? [])
    }

    public func verify(replace: Bool, onEvent: (ProgressEvent) -> Void) async throws -> ProgressEvent {
        let request = ControlRoutes.verify.request(query: replace ? [("replace", "true")] : [])
        return try await stream(request, operation: "verify", onEvent: onEvent)
    }

    public func destroy(onEvent: (ProgressEvent) -> Void) async throws -> ProgressEvent {
        try await stream(ControlRoutes.destroy.request(), operation: "destroy", onEvent: onEvent)
    }

    /// `operation` names it in the error when the agent stops before the result.
    private func stream(_ request: APIRequest, operation: String, onEvent: (ProgressEvent) -> Void) async throws -> ProgressEvent {
        var last: ProgressEvent?
        do {
            try await api.lines(request, timeout: .hours(24)) { text in
                let event = try JSONDecoder.pyre.decode(ProgressEvent.self, from: Data(text.utf8))
                onEvent(event)
                last = event
            }
        } catch is DecodingError {
            throw PyreError(.agent, "the agent at \(endpoint.url) sent a progress line this pyre cannot read; "
                + "use the pyre binary that runs the agent")
        } catch let error as PyreError {
            // The agent refused or cannot be reached: its own message says why.
            throw error
        } catch {
            // The connection broke mid-stream: the agent process is gone.
            throw Self.agentStopped(during: operation)
        }
        guard let last, last.isResult else { throw Self.agentStopped(during: operation) }
        return last
    }

    /// What happened when the progress stream ends before its result: the operation's
    /// outcome is decided by the agent's next start, from its journal.
    static func agentStopped(during operation: String) -> PyreError {
        PyreError(.agent, "the agent stopped before the \(operation) finished. When `pyre up` starts again it "
            + "replays its history and resumes or reverts the \(operation) (servers it had not published are "
            + "destroyed); then `pyre history` shows how the \(operation) ended and `pyre status` what runs")
    }
}
