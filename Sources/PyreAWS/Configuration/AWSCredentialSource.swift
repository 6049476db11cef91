import AsyncHTTPClient
import Foundation
import Synchronization

/// Where credentials that expire come from, asked again before they do: the AWS SDKs'
/// credential providers after the static keys of the environment and the shared files.
public enum AWSCredentialSource: Sendable, Equatable {
    /// `credential_process` in the profile: a command (run by `/bin/sh -c`) that prints the
    /// credentials as JSON.
    case process(command: String, profile: String)
    /// An IAM Identity Center (SSO) profile.
    case singleSignOn(AWSSingleSignOn)
    /// The EC2 instance metadata service, the last source, given `timeout` seconds per call:
    /// `tried` says what came before it and found nothing, for the message when it fails too.
    case instanceMetadata(endpoint: String, timeout: Double, tried: [String])

    func fetch(http: HTTPClient, now: Date) async throws -> AWSCredentials {
        switch self {
        case .process(let command, let profile):
            try await AWSCredentialProcess(command: command, profile: profile).run()
        case .singleSignOn(let signOn):
            try await signOn.fetch(http: http, now: now)
        case .instanceMetadata(let endpoint, let timeout, let tried):
            try await AWSInstanceMetadata(endpoint: endpoint, timeout: timeout).fetch(http: http, tried: tried)
        }
    }

    /// The error when no source has credentials: every source `tried`, in order, with why it gave none.
    static func noCredentials(tried: [String]) -> AWSError {
        .configuration("no AWS credentials found. Tried, in order: " + tried.joined(separator: "; ")
            + ". Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, add keys, sso_session or credential_process to "
            + "the profile, or run on an EC2 instance with an IAM role")
    }

    /// `2026-12-04T18:00:00Z`, with or without fractional seconds, as the sources write expirations.
    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        return (try? Date.ISO8601FormatStyle().parse(text))
            ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
    }
}

/// Credentials from a source that expire, kept until five minutes before they do; callers
/// that need them while they are being fetched wait for that one fetch.
final class AWSCredentialCache: Sendable {
    private struct State {
        var current: AWSCredentials?
        var fetching: Task<AWSCredentials, any Error>?
    }

    private let state = Mutex(State())
    static let refreshBefore: TimeInterval = 300

    private enum Next {
        case ready(AWSCredentials)
        case wait(Task<AWSCredentials, any Error>)
    }

    func credentials(from source: AWSCredentialSource, http: HTTPClient, now: Date) async throws -> AWSCredentials {
        let next: Next = state.withLock { state in
            if let current = state.current, current.expiration.map({ $0 > now + Self.refreshBefore }) ?? true {
                return .ready(current)
            }
            if let fetching = state.fetching { return .wait(fetching) }
            let fetching = Task { try await source.fetch(http: http, now: now) }
            state.fetching = fetching
            return .wait(fetching)
        }
        switch next {
        case .ready(let credentials):
            return credentials
        case .wait(let fetching):
            return try await wait(for: fetching)
        }
    }

    private func wait(for fetching: Task<AWSCredentials, any Error>) async throws -> AWSCredentials {
        do {
            let credentials = try await fetching.value
            state.withLock { state in
                if state.fetching == fetching { (state.current, state.fetching) = (credentials, nil) }
            }
            return credentials
        } catch {
            state.withLock { state in
                if state.fetching == fetching { state.fetching = nil }
            }
            throw error
        }
    }
}
