import Foundation

/// One route of an agent API. The agent's routers register their handlers by these values,
/// the clients build their requests from them, and a test checks both and the OpenAPI
/// documents against the lists below: a path is written in one place.
public struct APIRoute: Hashable, Sendable, CustomStringConvertible {
    public enum Method: String, Sendable {
        case GET, POST, PUT
    }

    public let method: Method
    /// As OpenAPI writes it: `/streams/{stream}`.
    public let path: String

    init(_ method: Method, _ path: String) {
        self.method = method
        self.path = path
    }

    /// `GET /v1/status`, as the documents and the router list routes.
    public var description: String { "\(method.rawValue) \(path)" }

    /// A request of this route: its `{parameters}` replaced, in order, by `values`, and
    /// `query` appended, each percent-encoded.
    public func request(_ values: String..., query: [(String, String)] = []) -> APIRequest {
        var values = values[...]
        let filled = path.split(separator: "/").map { part in
            part.hasPrefix("{") ? Self.escapedPathParameter(values.popFirst() ?? "") : String(part)
        }
        precondition(values.isEmpty, "\(self) takes fewer parameters")
        let encoded = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }
        return APIRequest(method: method, path: "/" + filled.joined(separator: "/")
                          + (encoded.isEmpty ? "" : "?" + encoded.joined(separator: "&")))
    }

    private static func escapedPathParameter(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&="))) ?? value
    }
}

/// A route with its parameters filled in, ready to send.
public struct APIRequest: Sendable, Equatable {
    public var method: APIRoute.Method
    /// The path and query, percent-encoded: `/streams/orders?from=0`.
    public var path: String
}

/// The control API (`docs/control-api.yaml`), on loopback, for the CLI.
public enum ControlRoutes {
    public static let status = APIRoute(.GET, "/v1/status")
    public static let history = APIRoute(.GET, "/v1/history")
    /// One deployment's timeline (`pyre history N`).
    public static let timeline = APIRoute(.GET, "/v1/history/{deployment}")
    public static let dns = APIRoute(.GET, "/v1/dns")
    public static let logs = APIRoute(.GET, "/v1/logs")
    public static let plan = APIRoute(.POST, "/v1/plan")
    /// Streamed: `ProgressEvent`s as JSON lines.
    public static let deploy = APIRoute(.POST, "/v1/deploy")
    /// Streamed, as `deploy`.
    public static let verify = APIRoute(.POST, "/v1/verify")
    /// Streamed, as `deploy`.
    public static let destroy = APIRoute(.POST, "/v1/destroy")
    /// Streamed, as `deploy`: deploys an earlier release again.
    public static let rollback = APIRoute(.POST, "/v1/rollback")
    /// Streamed, as `deploy`: the rest of a deploy whose canaries passed.
    public static let promote = APIRoute(.POST, "/v1/promote")
    /// `pyre image gc` while the agent runs: it knows what its servers and deployments use.
    public static let collectImages = APIRoute(.POST, "/v1/images/gc")
    /// Prometheus's text format (docs/metrics.md).
    public static let metrics = APIRoute(.GET, "/metrics")

    /// A one-time code for `pyre ui`'s URL, which the dashboard trades for a session cookie.
    public static let loginCode = APIRoute(.POST, "/v1/ui/login-codes")
    /// The event store for the dashboard's Events page: the same pages as the events API's reads.
    public static let eventsAll = APIRoute(.GET, "/v1/events/all")
    public static let eventsStream = APIRoute(.GET, "/v1/events/streams/{stream}")
    /// Server-sent events of a stream or `$all` as they commit, for the Events page to follow.
    public static let eventsSubscribe = APIRoute(.GET, "/v1/events/subscribe")

    public static let all = [status, history, timeline, dns, logs, plan, deploy, verify, destroy, rollback, promote,
                             collectImages, metrics, loginCode, eventsAll, eventsStream, eventsSubscribe] + DashboardRoutes.all
}

/// The dashboard (docs/dashboard.md), served with the control API: HTML, its assets, and a
/// live feed of the fleet; everything else it shows comes from the control API's JSON routes.
public enum DashboardRoutes {
    /// Every dashboard path starts here; unauthenticated requests below it get a page, not JSON.
    public static let prefix = "/ui"
    public static let page = APIRoute(.GET, "/ui")
    /// `?code=…`: trades a login code for a session cookie and goes on to the page.
    public static let login = APIRoute(.GET, "/ui/login")
    public static let asset = APIRoute(.GET, "/ui/assets/{file}")
    /// Below it, the script and style, served without a session.
    public static let assets = "/ui/assets/"
    /// Server-sent events: the fleet and the deployment history, each time either changes.
    public static let live = APIRoute(.GET, "/ui/live")

    public static let all = [page, login, asset, live]
}

/// The events API (`docs/events-api.yaml`), on the system address, for servers and the CLI.
public enum EventsRoutes {
    public static let append = APIRoute(.POST, "/streams/{stream}")
    public static let readStream = APIRoute(.GET, "/streams/{stream}")
    public static let readAll = APIRoute(.GET, "/all")
    public static let subscribe = APIRoute(.GET, "/subscribe")
    public static let saveSnapshot = APIRoute(.PUT, "/snapshots/{stream}")
    public static let latestSnapshot = APIRoute(.GET, "/snapshots/{stream}")

    public static let all = [append, readStream, readAll, subscribe, saveSnapshot, latestSnapshot]
}
