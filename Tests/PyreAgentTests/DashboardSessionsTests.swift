import Foundation
@testable import PyreAgent
import Testing

/// The dashboard's sign-in: a code is good once, briefly and on its own host name; a session
/// lasts its lifetime and answers only its own cookie on its own host name.
@Suite struct DashboardSessionsTests {
    @Test func aCodeIsGoodForOneLoginOnItsHostName() throws {
        let sessions = DashboardSessions()
        let (code, site) = sessions.issueCode()
        #expect(site.hasSuffix(".localhost") && site.count > 20)
        let (id, session) = try #require(sessions.redeem(code, host: "\(site):7070"))
        #expect(sessions.redeem(code, host: "\(site):7070") == nil, "a second use")
        let cookie = "theme=dark; \(DashboardSessions.cookieName)=stale; \(DashboardSessions.cookieName)=\(id)"
        #expect(sessions.session(cookieHeader: cookie, host: "\(site.uppercased()):7070")?.csrfToken == session.csrfToken,
                "any of the cookie's values, the host name in any case")
        #expect(sessions.session(cookieHeader: cookie, host: "127.0.0.1:7070") == nil, "another host name")
        #expect(sessions.session(cookieHeader: "\(DashboardSessions.cookieName)=\(String(id.reversed()))", host: site) == nil)
        #expect(sessions.session(cookieHeader: nil, host: site) == nil)
        #expect(session.csrfToken.count == 64 && session.csrfToken != id && id != code)

        let (other, _) = sessions.issueCode()
        #expect(sessions.redeem(other, host: "127.0.0.1:7070") == nil, "presented on another host name")
        #expect(sessions.redeem(other, host: "\(site):7070") == nil, "and used up by it")
    }

    @Test func codesAndSessionsExpire() throws {
        let sessions = DashboardSessions()
        let issued = Date()
        let late = sessions.issueCode(now: issued)
        #expect(sessions.redeem(late.code, host: late.site, now: issued.addingTimeInterval(DashboardSessions.codeLifetime + 1)) == nil)
        let fresh = sessions.issueCode(now: issued)
        let (id, _) = try #require(sessions.redeem(fresh.code, host: fresh.site, now: issued))
        let cookie = "\(DashboardSessions.cookieName)=\(id)"
        #expect(sessions.session(cookieHeader: cookie, host: fresh.site,
                                 now: issued.addingTimeInterval(DashboardSessions.sessionLifetime - 1)) != nil)
        #expect(sessions.session(cookieHeader: cookie, host: fresh.site,
                                 now: issued.addingTimeInterval(DashboardSessions.sessionLifetime + 1)) == nil)
    }

    @Test func theCookieIsHostOnlyAndHiddenFromScriptsAndOtherSites() {
        let header = DashboardSessions.setCookie(id: "abc")
        #expect(header.hasPrefix("pyre_session=abc;"))
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] { #expect(header.contains(attribute)) }
        #expect(!header.contains("Domain"))
    }
}
