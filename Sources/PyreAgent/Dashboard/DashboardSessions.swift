import Foundation
import PyreAPI
import Synchronization

/// Who may use the dashboard. `pyre ui` asks (with the control token) for a one-time login code
/// and prints a URL carrying it; the browser trades the code for a session cookie, so the token
/// itself never reaches the browser. Each session has its own CSRF token, which every
/// state-changing request made with the cookie must repeat in `X-CSRF-Token`.
final class DashboardSessions: Sendable {
    struct Session: Sendable {
        var csrfToken: String
        var expires: Date
    }

    /// A login code is good for one use within this long: the URL is printed to a terminal.
    static let codeLifetime: TimeInterval = 120
    static let sessionLifetime: TimeInterval = 12 * 3600
    static let cookieName = "pyre_session"

    private let codes = Mutex<[String: Date]>([:])
    private let sessions = Mutex<[String: Session]>([:])

    /// A new one-time login code.
    func issueCode(now: Date = Date()) -> String {
        let code = SecretToken.random()
        codes.withLock { codes in
            codes = codes.filter { $0.value > now }
            codes[code] = now.addingTimeInterval(Self.codeLifetime)
        }
        return code
    }

    /// Trades a valid, unused code for a new session's id; nil for an unknown, used or expired code.
    func redeem(_ code: String, now: Date = Date()) -> (id: String, session: Session)? {
        guard let expires = codes.withLock({ $0.removeValue(forKey: code) }), expires > now else { return nil }
        let id = SecretToken.random()
        let session = Session(csrfToken: SecretToken.random(), expires: now.addingTimeInterval(Self.sessionLifetime))
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            sessions[id] = session
        }
        return (id, session)
    }

    /// The live session whose id the `Cookie` header carries.
    func session(cookieHeader: String?, now: Date = Date()) -> Session? {
        guard let id = Self.cookie(Self.cookieName, in: cookieHeader) else { return nil }
        return sessions.withLock { sessions in
            guard let session = sessions[id], session.expires > now else { return nil }
            return session
        }
    }

    /// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
    static func cookie(_ name: String, in header: String?) -> String? {
        header?.split(separator: ";").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1)) }
    }

    /// `Set-Cookie` for a session: unreadable by scripts, never sent by another site's requests.
    static func setCookie(id: String) -> String {
        "\(cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessionLifetime))"
    }
}
