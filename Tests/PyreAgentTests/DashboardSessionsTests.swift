import Foundation
@testable import PyreAgent
import Testing

/// The dashboard's sign-in: a code is good once and briefly, a session lasts its lifetime, and
/// only the session's own cookie finds it.
@Suite struct DashboardSessionsTests {
    @Test func aCodeIsGoodForOneLogin() throws {
        let sessions = DashboardSessions()
        let code = sessions.issueCode()
        let (id, session) = try #require(sessions.redeem(code))
        #expect(sessions.redeem(code) == nil, "a second use")
        #expect(sessions.session(cookieHeader: "theme=dark; \(DashboardSessions.cookieName)=\(id)")?.csrfToken == session.csrfToken)
        #expect(sessions.session(cookieHeader: "\(DashboardSessions.cookieName)=\(String(id.reversed()))") == nil)
        #expect(sessions.session(cookieHeader: nil) == nil)
        #expect(session.csrfToken.count == 64 && session.csrfToken != id && id != code)
    }

    @Test func codesAndSessionsExpire() throws {
        let sessions = DashboardSessions()
        let issued = Date()
        let late = sessions.issueCode(now: issued)
        #expect(sessions.redeem(late, now: issued.addingTimeInterval(DashboardSessions.codeLifetime + 1)) == nil)
        let (id, _) = try #require(sessions.redeem(sessions.issueCode(now: issued), now: issued))
        let cookie = "\(DashboardSessions.cookieName)=\(id)"
        #expect(sessions.session(cookieHeader: cookie, now: issued.addingTimeInterval(DashboardSessions.sessionLifetime - 1)) != nil)
        #expect(sessions.session(cookieHeader: cookie, now: issued.addingTimeInterval(DashboardSessions.sessionLifetime + 1)) == nil)
    }

    @Test func theCookieIsHiddenFromScriptsAndOtherSites() {
        let header = DashboardSessions.setCookie(id: "abc")
        #expect(header.hasPrefix("pyre_session=abc;"))
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] { #expect(header.contains(attribute)) }
    }
}
