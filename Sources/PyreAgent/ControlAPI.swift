import Foundation
import Hummingbird
import Logging
import NIOCore
import PyreAPI
import PyreCore
import PyreDeploy

/// The agent's control API on loopback: what the CLI and the dashboard talk to. Every route
/// requires the bearer token from `STATE/token` or a dashboard session (see
/// ``BearerTokenMiddleware``). Documented in `docs/control-api.yaml`.
public enum ControlAPI {
    /// Builds the HTTP application; `onListening` receives the bound address (port 0 allowed).
    public static func application(
        agent: Agent, token: String, host: String, port: Int, subscribers: SubscriberRegistry,
        console: @escaping ProgressSink, logger: Logger,
        onListening: @escaping @Sendable (SocketAddress) async -> Void
    ) -> some ApplicationProtocol {
        Application(
            router: router(agent: agent, token: token, subscribers: subscribers, console: console),
            configuration: .init(address: .hostname(host, port: port), serverName: "pyre-agent"),
            onServerRunning: { channel in
                if let address = channel.localAddress { await onListening(address) }
            },
            logger: logger)
    }

    /// Every route of the control API.
    static func router(agent: Agent, token: String, subscribers: SubscriberRegistry,
                       console: @escaping ProgressSink) -> Router<BasicRequestContext> {
        let router = Router()
        let sessions = DashboardSessions()
        router.add(middleware: BearerTokenMiddleware(token: token, hint: "the CLI reads it from STATE/token; a browser signs in with `pyre ui`",
                                                     dashboard: sessions))
        DashboardAPI.addRoutes(to: router, agent: agent, token: token, sessions: sessions, subscribers: subscribers)
        router.on(ControlRoutes.status) { _, _ in try jsonResponse(try await agent.status()) }
        router.on(ControlRoutes.history) { _, _ in try jsonResponse(await agent.history()) }
        router.on(ControlRoutes.metrics) { _, _ in
            let exposition = agent.metrics.exposition(history: await agent.history(), status: try await agent.status(),
                                                      layers: await agent.layerCounts())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: exposition)))
        }
        router.on(ControlRoutes.timeline) { _, context in
            let text = context.parameters.get("deployment") ?? ""
            guard let number = Int(text) else {
                throw PyreError(.manifest, "a deployment is a number such as 3 (not '\(text)'); `pyre history` lists them")
            }
            return try jsonResponse(try await agent.timeline(of: number))
        }
        LogsAPI.addRoute(to: router, store: agent.logs.store, subscribers: subscribers)
        router.on(ControlRoutes.dns) { _, _ in
            try jsonResponse(DNSReport(address: agent.identity.dnsAddress, listen: await agent.identity.hostDNSAddress,
                                       zone: await agent.zoneText()))
        }
        router.on(ControlRoutes.plan) { request, _ in
            guard request.uri.queryParameters.get("rollback") == "true" else {
                let plan = try await agent.plan()
                return try jsonResponse(PlanReport(changes: !plan.isEmpty, text: plan.render()))
            }
            let (target, plan) = try await agent.rollbackPlan(to: try deploymentNumber(request, "to"))
            return try jsonResponse(PlanReport(changes: !plan.isEmpty,
                                               text: "rollback to the release of deployment #\(target):\n" + plan.render()))
        }
        router.on(ControlRoutes.collectImages) { request, _ in
            let text = request.uri.queryParameters.get("keep")
            guard let keep = text.map({ Int($0) }) ?? AgentConfiguration.defaultKeptDeployments, keep >= 0 else {
                throw PyreError(.manifest, "keep must be a number of deployments, 0 or more (not '\(text ?? "")')")
            }
            return try jsonResponse(ImageGCReport(try await agent.collectImages(keepingDeployments: keep), keptDeployments: keep))
        }
        router.on(ControlRoutes.deploy) { request, _ in
            let options = switch request.uri.queryParameters.get("canary") {
            case "only": RolloutOptions(canary: .only)
            case "skip": RolloutOptions(canary: .skip)
            case nil: RolloutOptions()
            case let other?: throw PyreError(.manifest, "canary must be only or skip (not '\(other)')")
            }
            try await agent.checkCanDeploy()
            return try await streamed(agent: agent, console: console) { progress in
                let record = try await agent.deploy(options: options, progress: progress)
                // The engine's own progress already said how it ended; the result only carries the outcome.
                return .deployResult(deployment: record.number, ok: record.outcome == .completed || record.outcome == .paused)
            }
        }
        router.on(ControlRoutes.rollback) { request, _ in
            let target = try deploymentNumber(request, "to")
            try await agent.checkCanDeploy()
            return try await streamed(agent: agent, console: console) { progress in
                let record = try await agent.rollback(to: target, progress: progress)
                return .deployResult(deployment: record.number, ok: record.outcome == .completed)
            }
        }
        router.on(ControlRoutes.promote) { _, _ in
            try await agent.checkCanDeploy()
            return try await streamed(agent: agent, console: console) { progress in
                let record = try await agent.promote(progress: progress)
                return .deployResult(deployment: record.number, ok: record.outcome == .completed)
            }
        }
        router.on(ControlRoutes.verify) { request, _ in
            let replace = request.uri.queryParameters.get("replace") == "true"
            return try await streamed(agent: agent, console: console) { progress in
                let report = try await agent.verify(replace: replace, progress: progress)
                return .verifyResult(checked: report.checked, drifted: report.drifted.count, replace: replace,
                                     replaced: report.replaced)
            }
        }
        router.on(ControlRoutes.destroy) { _, _ in
            try await streamed(agent: agent, console: console) { progress in
                try await agent.destroyAll(reason: "pyre destroy", progress: progress)
                return .destroyResult
            }
        }
        return router
    }
}

/// The query parameter `name` as a deployment number; nil when absent.
private func deploymentNumber(_ request: Request, _ name: String) throws -> Int? {
    guard let text = request.uri.queryParameters.get(name) else { return nil }
    guard let number = Int(text), number > 0 else {
        throw PyreError(.manifest, "\(name) must be a deployment number such as 3 (not '\(text)'); `pyre history` lists them")
    }
    return number
}

/// Runs `operation` in its own task and streams its progress as JSON lines, ending with the
/// result it returns (or `operationFailed`). The operation finishes even if the client goes away:
/// a deploy is never left half done because a terminal was closed.
private func streamed(agent: Agent, console: @escaping ProgressSink,
                      _ operation: @escaping @Sendable (@escaping ProgressSink) async throws -> ProgressEvent) async throws -> Response {
    let (lines, continuation) = AsyncStream<ProgressEvent>.makeStream()
    _ = try await agent.run {
        let sink: ProgressSink = { event in
            console(event)
            continuation.yield(event)
        }
        do {
            sink(try await operation(sink))
        } catch {
            sink(.operationFailed(message: describe(error)))
        }
        continuation.finish()
    }
    let body = ResponseBody { writer in
        let encoder = JSONEncoder.pyre
        for await line in lines {
            var data = try encoder.encode(line)
            data.append(UInt8(ascii: "\n"))
            try await writer.write(ByteBuffer(bytes: data))
        }
        try await writer.finish(nil)
    }
    return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
}

func describe(_ error: any Error) -> String {
    (error as? PyreError)?.description ?? String(describing: error)
}

/// A JSON body, encoded as every control API answer is (`JSONEncoder.pyre`).
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try JSONEncoder.pyre.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

extension Router {
    /// Registers `handler` for `route`: the path is written once, in PyreAPI, for the
    /// router, the client and the test that holds both to the OpenAPI documents.
    @discardableResult
    func on(_ route: APIRoute, use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator) -> Self {
        on(RouterPath(route.path), method: HTTPRequest.Method(rawValue: route.method.rawValue)!, use: handler)
    }
}
