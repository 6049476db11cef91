import Foundation
import Logging
import NIOCore
import PyreAPI
import PyreCore
import Hummingbird
import ServiceLifecycle

/// `pyre up`: runs the agent in the foreground until SIGINT or SIGTERM, then destroys the
/// servers and keeps the persistent data.
public enum AgentRunner {
    public static func run(configuration: AgentConfiguration, logger: Logger, console: @escaping ProgressSink) async throws {
        let agent = try await Agent(configuration: configuration, logger: logger)
        try await agent.start()
        let token = try agent.state.loadOrCreateToken()
        let state = agent.state
        let system = agent.system
        let logFollowers = SubscriberRegistry()
        let api = ControlAPI.application(
            agent: agent, token: token, host: configuration.controlHost, port: configuration.controlPort,
            subscribers: logFollowers, console: console, logger: logger
        ) { address in
            let url = "http://\(configuration.controlHost):\(address.port ?? 0)"
            let endpoint = AgentEndpoint(url: url, pid: getpid(), system: system, startedAt: Date(), events: agent.eventsURL,
                                         syslog: agent.syslogAddress, relp: agent.relpAddress)
            do {
                try endpoint.write(to: state.agentFile)
            } catch {
                logger.error("cannot write \(state.agentFile.path): \(error)")
            }
            console(.notice(message: "agent for \(system) listening on \(url) (state: \(state.root.path))"))
            let hostDNS = await agent.identity.hostDNSAddress.map { " and \($0)" } ?? ""
            console(.notice(message: "DNS for \(agent.zone) at \(agent.identity.dnsAddress)\(hostDNS) (`pyre dns` shows the zone)"))
            for entrypoint in await agent.identity.openEntrypoints {
                console(.notice(message: "entry point \(entrypoint.name) at \(entrypoint.listen) → service \(entrypoint.service)"))
            }
            for line in agent.backend.startupLines { console(.notice(message: line)) }
            console(.notice(message: "events API at \(agent.eventsURL) (events.\(agent.zone); `pyre events` reads it)"))
            let tls = agent.logs.tls.map { ", TLS on port \($0.port)" } ?? ""
            console(.notice(message: "syslog at \(agent.syslogAddress), UDP and TCP\(tls), RELP on port \(agent.logs.relpPort)"
                                 + " (logs.\(agent.zone); `pyre logs` reads it)"))
        }
        let subscribers = SubscriberRegistry()
        let eventsAPI = EventsAPI.application(
            store: agent.applicationEvents, token: try agent.state.loadOrCreateEventsToken(),
            host: agent.identity.systemAddress, port: agent.eventsPort, subscribers: subscribers, logger: logger)
        let supervisor = Supervisor(agent: agent, interval: configuration.watchInterval, console: console)
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: StreamingService(application: api, subscribers: logFollowers)),
            .init(service: StreamingService(application: eventsAPI, subscribers: subscribers)),
            .init(service: supervisor),
        ] + agent.backend.services.map { .init(service: $0) }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}

/// An HTTP API with event streams; on shutdown it ends the open streams, whose clients
/// would otherwise hold the server open.
struct StreamingService<App: ApplicationProtocol>: Service {
    let application: App
    let subscribers: SubscriberRegistry

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await application.run()
        } onGracefulShutdown: {
            subscribers.finishAll()
        }
    }
}

/// Deploys once at start, then keeps the system as declared (self-healing and phoenix
/// recreation) until shutdown, when it destroys the servers.
struct Supervisor: Service {
    let agent: Agent
    let interval: Duration
    let console: ProgressSink

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            do {
                let record = try await agent.deploy(trigger: agent.startTrigger, progress: console)
                if record.outcome == .completed { try await printServers() }
            } catch is CancellationError {
                return
            } catch {
                console(.startFailed(message: describe(error)))
            }
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await agent.tick(progress: console)
            }
        }
        console(.stopping)
        await agent.shutdown(progress: console)
        console(.stopped)
    }

    private func printServers() async throws {
        let status = try await agent.status()
        for service in status.services {
            for server in service.servers {
                console(.serverReady(server))
            }
        }
    }
}
