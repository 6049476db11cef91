import Foundation
import Hummingbird
import NIOCore
import PyreAPI
import PyreCore

/// Lets through requests with `Authorization: Bearer TOKEN` and, where the API serves the
/// dashboard, requests with a dashboard session cookie; maps Pyre errors onto statuses.
///
/// A cookie is sent by the browser on its own, so a cookie request that changes something
/// (anything but GET and HEAD) must also carry the session's CSRF token in `X-CSRF-Token`,
/// which only the dashboard's own page can read. A bearer request needs none: no browser
/// adds that header by itself.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    /// Where a client finds the token, for the 401's message.
    let hint: String
    /// The dashboard's sessions, on the control API; nil where only the token is accepted.
    var dashboard: DashboardSessions? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if !BearerCredentials.match(request.headers[.authorization], token: token) {
            if let refusal = refusal(of: request) { return refusal }
        }
        do {
            return try await next(request, context)
        } catch let error as PyreError {
            let status: HTTPResponse.Status = switch error.code {
            case .deployRunning: .conflict
            case .manifest, .bake: .badRequest
            case .notFound: .notFound
            case .unauthorized: .unauthorized
            default: .internalServerError
            }
            return errorResponse(status, ErrorBody(code: error.code.rawValue, message: error.description))
        }
    }

    /// Why a request without the token is refused; nil when its session lets it through.
    private func refusal(of request: Request) -> Response? {
        guard let dashboard else {
            return errorResponse(.unauthorized, ErrorBody(code: "unauthorized", message: "missing or wrong bearer token; \(hint)"))
        }
        let path = request.uri.path
        // The login page's code is its own credential; the script and style are no secret (the
        // sign-in page uses the style).
        if request.method == .get || request.method == .head,
           path == DashboardRoutes.login.path || path.hasPrefix(DashboardRoutes.assets) { return nil }
        guard let session = dashboard.session(cookieHeader: request.headers[.cookie], host: request.head.authority) else {
            if path.hasPrefix(DashboardRoutes.prefix) { return DashboardPages.signInRequired() }
            return errorResponse(.unauthorized, ErrorBody(code: "unauthorized",
                                                          message: "missing or wrong bearer token or dashboard session; \(hint)"))
        }
        if request.method != .get && request.method != .head {
            let presented = request.headers[.init("X-CSRF-Token")!] ?? ""
            guard BearerCredentials.constantTimeEqual(Array(presented.utf8), Array(session.csrfToken.utf8)) else {
                return errorResponse(.forbidden, ErrorBody(code: "csrf",
                    message: "missing or wrong X-CSRF-Token for this dashboard session; reload the dashboard"))
            }
        }
        return nil
    }

    private func errorResponse(_ status: HTTPResponse.Status, _ body: ErrorBody) -> Response {
        let data = (try? JSONEncoder.pyre.encode(body)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
