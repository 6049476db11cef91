import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// An IAM Identity Center (SSO) profile: the access token `aws sso login` cached in
/// `~/.aws/sso/cache`, exchanged at the SSO portal (`GetRoleCredentials`) for the role's
/// credentials. Pyre does not log in or refresh the token itself: when it expires, the error
/// says to run `aws sso login` again.
public struct AWSSingleSignOn: Sendable, Equatable {
    public var profile: String
    public var accountID: String
    public var roleName: String
    /// The cache file `aws sso login` writes the token to.
    public var tokenFile: String
    /// The portal: `AWS_ENDPOINT_URL_SSO`, or AWS's in the SSO region.
    public var portal: String

    /// The profile's SSO settings, nil when it has none: `sso_session` naming an
    /// `[sso-session NAME]` section (the token cached under the session's name), or the older
    /// `sso_start_url` and `sso_region` in the profile itself (cached under the URL).
    static func from(_ profile: [String: String], named name: String, file: AWSProfileFile, configPath: String,
                     home: String, environment: [String: String]) throws -> AWSSingleSignOn? {
        let session = profile["sso_session"]
        guard session != nil || profile["sso_start_url"] != nil else { return nil }
        let settings = try session.map { session in
            guard let section = file.sections["sso-session \(session)"] else {
                throw AWSError.configuration("AWS profile '\(name)' names sso_session '\(session)', which has no "
                    + "[sso-session \(session)] section in \(configPath): add it, with sso_start_url and sso_region")
            }
            return section
        } ?? profile
        func required(_ key: String, in settings: [String: String]) throws -> String {
            guard let value = settings[key], !value.isEmpty else {
                throw AWSError.configuration("AWS profile '\(name)' uses SSO but has no \(key) in \(configPath): "
                    + "add it (`aws configure sso` writes it)")
            }
            return value
        }
        let startURL = try required("sso_start_url", in: settings)
        let region = try required("sso_region", in: settings)
        let key = Insecure.SHA1.hash(data: Data((session ?? startURL).utf8)).map { String(format: "%02x", $0) }.joined()
        return AWSSingleSignOn(
            profile: name, accountID: try required("sso_account_id", in: profile),
            roleName: try required("sso_role_name", in: profile),
            tokenFile: "\(home)/.aws/sso/cache/\(key).json",
            portal: environment["AWS_ENDPOINT_URL_SSO"].flatMap { $0.isEmpty ? nil : $0 }
                ?? "https://portal.sso.\(region).amazonaws.com")
    }

    func fetch(http: HTTPClient, now: Date) async throws -> AWSCredentials {
        let login = "run `aws sso login --profile \(profile)`"
        guard let cached = FileManager.default.contents(atPath: tokenFile) else {
            throw AWSError.configuration("AWS profile '\(profile)' uses SSO, but no login is cached in \(tokenFile): \(login)")
        }
        guard let token = try? JSONSerialization.jsonObject(with: cached) as? [String: Any],
              let accessToken = token["accessToken"] as? String,
              let expiresAt = AWSCredentialSource.date(token["expiresAt"] as? String) else {
            throw AWSError.configuration("the SSO login cached in \(tokenFile) is unreadable: \(login)")
        }
        guard expiresAt > now else {
            throw AWSError.configuration("the SSO login of AWS profile '\(profile)' expired at "
                + "\(expiresAt.formatted(.iso8601)): \(login)")
        }
        var request = HTTPClientRequest(url: portal + "/federation/credentials?account_id="
            + PercentEncoding.encode(accountID) + "&role_name=" + PercentEncoding.encode(roleName))
        request.headers.add(name: "x-amz-sso_bearer_token", value: accessToken)
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(30))
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw AWSError.configuration("the SSO portal \(portal) did not answer for AWS profile '\(profile)': \(error)")
        }
        guard response.status == .ok else {
            throw AWSError.configuration("the SSO portal refused the login of AWS profile '\(profile)' (HTTP "
                + "\(response.status.code)) for role \(roleName) in account \(accountID): \(login), and check the role")
        }
        guard let answer = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let role = answer["roleCredentials"] as? [String: Any],
              let id = role["accessKeyId"] as? String, let secret = role["secretAccessKey"] as? String else {
            throw AWSError.configuration("the SSO portal \(portal) answered without role credentials")
        }
        let expiration = (role["expiration"] as? Double).map { Date(timeIntervalSince1970: $0 / 1000) }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: role["sessionToken"] as? String,
                              expiration: expiration)
    }
}
