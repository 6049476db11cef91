import Foundation
import Hummingbird
import Logging
import NIOCore
import PyreAPI
import PyreCore
import ServiceLifecycle
import UnixSignals

/// The agent's long-running parts as one service group: what `pyre up` runs until SIGINT or
/// SIGTERM, and what the in-process tests run without signals.
///
/// Order matters only for shutdown, which goes from the last service to the first: the
/// supervisor destroys the servers first, the APIs and listeners close after, the network
/// goes last but one (the journal closes after everything). Start-up order is kept by gates:
/// the network before anything binds on the system address, the listeners and the event store
/// before recovery, recovery before the control API takes requests.
struct AgentServices {
    let group: ServiceGroup
    /// Opened once the deploy the agent starts with has ended.
    let deployed: Gate

    init(agent: Agent, console: @escaping ProgressSink, logger: Logger, signals: [UnixSignal] = []) throws {
        let configuration = agent.configuration
        let network = Gate("network"), store = Gate("event store"), syslog = Gate("syslog"), identity = Gate("DNS and entry points")
        let eventsAPI = Gate("events API"), recovered = Gate("recovery"), announced = Gate("control API")
        deployed = Gate("first deploy")
        let logFollowers = SubscriberRegistry(), eventFollowers = SubscriberRegistry()
        let control = ControlAPI.application(
            agent: agent, token: try agent.state.loadOrCreateToken(), host: configuration.controlHost,
            port: configuration.controlPort, subscribers: logFollowers, console: console, logger: logger
        ) { address in
            await Self.announce(agent, at: "http://\(configuration.controlHost):\(address.port ?? 0)", console: console,
                                logger: logger)
            announced.open()
        }
        let events = try EventsAPI.application(
            store: agent.applicationEvents, token: agent.eventsToken, host: agent.identity.systemAddress,
            port: agent.eventsPort, tls: agent.network, subscribers: eventFollowers, metrics: agent.metrics, logger: logger, onListening: { _ in eventsAPI.open() })
        let backend = agent.backend, logs = agent.logs
        var services: [any Service] = [
            StagedService(description: "journal", stop: { await agent.store.close() }),
            StagedService(description: "network", ready: network, start: { try await backend.prepare() }, stop: {
                do {
                    try await backend.teardown()
                } catch {
                    logger.error("could not remove the system's network: \(describe(error))")
                }
            }),
            ApplicationEvents.service(agent.applicationEvents, ready: store),
            StagedService(description: "syslog", after: [network], ready: syslog,
                          start: { try await logs.start(host: backend.systemAddress) }, stop: { await logs.stop() }),
        ]
        services += backend.services
        services += [
            StagedService(description: "DNS and entry points", after: [network], ready: identity,
                          start: { try await agent.identity.start() }, stop: { await agent.identity.stop() }),
            StreamingService(application: events, subscribers: eventFollowers, after: [network, store]),
            StreamingService(application: control, subscribers: logFollowers, after: [recovered]),
            Supervisor(agent: agent, interval: configuration.watchInterval, console: console,
                       after: [network, store, syslog, identity, eventsAPI], recovered: recovered, announced: announced,
                       deployed: deployed),
        ]
        group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: signals, logger: logger))
    }

    /// Writes `STATE/agent.json`, through which the CLI finds the agent, and says where
    /// everything listens.
    private static func announce(_ agent: Agent, at url: String, console: ProgressSink, logger: Logger) async {
        let state = agent.state
        let endpoint = AgentEndpoint(url: url, pid: getpid(), system: agent.system, startedAt: Date(), events: agent.eventsURL,
                                     syslog: agent.syslogAddress, relp: agent.relpAddress)
        do {
            try endpoint.write(to: state.agentFile)
        } catch {
            logger.error("cannot write \(state.agentFile.path): \(error)")
        }
        console(.notice(message: "agent for \(agent.system) listening on \(url) (state: \(state.root.path))"))
        let hostDNS = await agent.identity.hostDNSAddress.map { " and \($0)" } ?? ""
        console(.notice(message: "DNS for \(agent.zone) at \(agent.identity.dnsAddress)\(hostDNS) (`pyre dns` shows the zone)"))
        for entrypoint in await agent.identity.openEntrypoints {
            console(.notice(message: "entry point \(entrypoint.name) at \(entrypoint.listen) → service \(entrypoint.service)"))
        }
        for line in agent.backend.startupLines { console(.notice(message: line)) }
        console(.notice(message: "events API at \(agent.eventsURL) (events.\(agent.zone); `pyre events` reads it)"))
        let tls = agent.syslogTLSAddress.map { ", TLS on \($0)" } ?? ""
        console(.notice(message: "syslog at \(agent.syslogAddress), UDP and TCP\(tls), RELP on port \(agent.logs.relpPort)"
                             + " (logs.\(agent.zone); `pyre logs` reads it)"))
    }
}

/// An HTTP API with event streams, listening once `after` is open; on shutdown it ends the
/// open streams, whose clients would otherwise hold the server open.
struct StreamingService<App: ApplicationProtocol>: Service {
    let application: App
    let subscribers: SubscriberRegistry
    let after: [Gate]

    func run() async throws {
        guard await waitForTurn(after) else { return }
        try await withGracefulShutdownHandler {
            try await application.run()
        } onGracefulShutdown: {
            subscribers.finishAll()
        }
    }
}
