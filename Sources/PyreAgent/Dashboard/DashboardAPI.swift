import Foundation
import Hummingbird
import NIOCore
import PyreAPI
import PyreCore

/// The dashboard's routes on the control API (docs/dashboard.md): the login trade, the page
/// and its assets, the live feed, and the event store's pages for the Events view. The page
/// reads everything else from the control API's own JSON routes, with its session cookie.
enum DashboardAPI {
    static func addRoutes(to router: Router<BasicRequestContext>, agent: Agent, token: String, sessions: DashboardSessions,
                          subscribers: SubscriberRegistry) {
        router.on(ControlRoutes.loginCode) { request, _ in
            // The token itself, not a session: a page cannot mint logins for others.
            guard BearerCredentials.match(request.headers[.authorization], token: token) else {
                throw PyreError(.unauthorized, "login codes are issued for the control token only (pyre ui)")
            }
            let (code, site) = sessions.issueCode()
            return try jsonResponse(LoginCode(code: code, site: site, expiresIn: Int(DashboardSessions.codeLifetime)))
        }
        router.on(DashboardRoutes.login) { request, _ in
            // A link preview's HEAD must not use the code up.
            if request.method == .head { return Response(status: .ok) }
            guard let code = request.uri.queryParameters.get("code"),
                  let (id, _) = sessions.redeem(code, host: request.head.authority) else {
                return DashboardPages.signInRequired(reason: "This login link was used already or has expired.")
            }
            // Off the URL with the code, so it is neither bookmarked nor sent on as a referrer.
            return Response(status: .seeOther, headers: [.location: DashboardRoutes.page.path,
                                                         .setCookie: DashboardSessions.setCookie(id: id),
                                                         .cacheControl: "no-store"])
        }
        router.on(DashboardRoutes.page) { request, _ in
            let session = sessions.session(cookieHeader: request.headers[.cookie], host: request.head.authority)
            return DashboardPages.dashboard(system: agent.system, csrfToken: session?.csrfToken ?? "")
        }
        router.on(DashboardRoutes.asset) { _, context in
            guard let asset = DashboardAssets.named(context.parameters.get("file") ?? "") else {
                throw PyreError(.notFound, "no dashboard asset of that name")
            }
            return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
                            body: .init(byteBuffer: ByteBuffer(string: asset.text)))
        }
        router.on(DashboardRoutes.live) { _, _ in
            ServerSentEvents.response(registry: subscribers) { send in
                var last = ""
                var sequence = 0
                while !Task.isCancelled {
                    let view = try await agent.fleetView()
                    let text = String(decoding: try JSONEncoder.pyre.encode(view), as: UTF8.self)
                    if text != last {
                        sequence += 1
                        await send(ServerSentEvents.frame(id: "\(sequence)", event: "fleet", data: text))
                        last = text
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        }
        router.on(ControlRoutes.eventsAll) { request, _ in
            try await EventsAPI.readAll(request, store: agent.applicationEvents, metrics: agent.metrics)
        }
        router.on(ControlRoutes.eventsSubscribe) { request, _ in
            try await EventsAPI.subscribe(request, store: agent.applicationEvents, subscribers: subscribers, metrics: agent.metrics,
                                          typed: false)
        }
        router.on(ControlRoutes.eventsStream) { request, context in
            try await EventsAPI.readStream(try context.parameters.require("stream"), request, store: agent.applicationEvents,
                                           metrics: agent.metrics)
        }
    }
}
