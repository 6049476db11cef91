import Foundation
import PyreAPI
import Synchronization

/// Who may use the dashboard. `pyre ui` asks (with the control token) for a one-time login code
/// and prints a URL carrying it; the browser trades the code for a session cookie, so the token
/// itself never reaches the browser. Each session has its own CSRF token, which every
/// state-changing request made with the cookie must repeat in `X-CSRF-Token`.
///
/// Each login also gets a host name of its own, `pRANDOM.localhost` (browsers send `*.localhost`
/// to loopback): browsers share a host's cookies across ports, so a cookie for 127.0.0.1 would
/// reach any page another local user serves on 127.0.0.1; one for a name nobody else knows
/// does not. A session answers only requests whose `Host` is its own name, which also turns
/// away pages that rebind a name of theirs to 127.0.0.1.
final class DashboardSessions: Sendable {
    struct Session: Sendable {
        var csrfToken: String
        /// The host name the session was signed in on; its cookie is that host's.
        var site: String
        var expires: Date
    }

    /// A login code is good for one use within this long: the URL is printed to a terminal.
    static let codeLifetime: TimeInterval = 120
    static let sessionLifetime: TimeInterval = 12 * 3600
    static let cookieName = "pyre_session"

    private let codes = Mutex<[String: (site: String, expires: Date)]>([:])
    private let sessions = Mutex<[String: Session]>([:])

    /// A new one-time login code, and the host name its URL must use.
    func issueCode(now: Date = Date()) -> (code: String, site: String) {
        let code = SecretToken.random()
        let site = "p\(SecretToken.random().prefix(20)).localhost"
        codes.withLock { codes in
            codes = codes.filter { $0.value.expires > now }
            codes[code] = (site, now.addingTimeInterval(Self.codeLifetime))
        }
        return (code, site)
    }

    /// Trades a valid, unused code presented on its own host name for a new session's id; nil
    /// for an unknown, used or expired code (a code presented on another host is used up too).
    func redeem(_ code: String, host: String?, now: Date = Date()) -> (id: String, session: Session)? {
        guard let issued = codes.withLock({ $0.removeValue(forKey: code) }), issued.expires > now,
              Self.hostName(host) == issued.site else { return nil }
        let id = SecretToken.random()
        let session = Session(csrfToken: SecretToken.random(), site: issued.site,
                              expires: now.addingTimeInterval(Self.sessionLifetime))
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            sessions[id] = session
        }
        return (id, session)
    }

    /// The live session of one of the `Cookie` header's `pyre_session` values, asked for on that
    /// session's own host name.
    func session(cookieHeader: String?, host: String?, now: Date = Date()) -> Session? {
        let ids = Self.cookies(Self.cookieName, in: cookieHeader)
        let name = Self.hostName(host)
        return sessions.withLock { sessions in
            ids.compactMap { sessions[$0] }.first { $0.expires > now && $0.site == name }
        }
    }

    /// Every value of cookie `name` in a `Cookie` header (`a=1; b=2`).
    static func cookies(_ name: String, in header: String?) -> [String] {
        (header ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    /// `Host: NAME:PORT` → `NAME`, lowercased.
    static func hostName(_ host: String?) -> String? {
        host.map { $0.split(separator: ":", maxSplits: 1).first.map(String.init)?.lowercased() ?? "" }
    }

    /// `Set-Cookie` for a session: host-only (no `Domain`), unreadable by scripts, never sent by
    /// another site's requests.
    static func setCookie(id: String) -> String {
        "\(cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessionLifetime))"
    }
}
