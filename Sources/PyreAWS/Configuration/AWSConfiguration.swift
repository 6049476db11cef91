import Foundation

/// Credentials, region and endpoints, found where the AWS CLI and SDKs look, in their order.
public struct AWSConfiguration: Sendable, Equatable {
    /// Keys that do not expire; nil when ``credentialSource`` gives them at the first call.
    public var credentials: AWSCredentials?
    /// Where credentials that expire come from (SSO, `credential_process`, instance metadata).
    public var credentialSource: AWSCredentialSource?
    public var region: String
    /// The profile whose files were read (`AWS_PROFILE`, else `default`).
    public var profile: String
    /// `AWS_ENDPOINT_URL` or the profile's `endpoint_url`: every service's endpoint.
    public var endpoint: String?
    /// `AWS_ENDPOINT_URL_<SERVICE>`, keyed by ``AWSService/endpointVariableSuffix``.
    public var serviceEndpoints: [String: String]

    public init(credentials: AWSCredentials?, credentialSource: AWSCredentialSource? = nil, region: String,
                profile: String = "default", endpoint: String? = nil, serviceEndpoints: [String: String] = [:]) {
        self.credentials = credentials
        self.credentialSource = credentialSource
        self.region = region
        self.profile = profile
        self.endpoint = endpoint
        self.serviceEndpoints = serviceEndpoints
    }

    /// The base URL for `service`: its own override, the shared one, or AWS's.
    public func endpoint(for service: AWSService) -> String {
        serviceEndpoints[service.endpointVariableSuffix] ?? endpoint ?? service.defaultEndpoint(region: region)
    }

    /// Reads credentials from the first of these that has them, in the order of the SDKs
    /// (botocore's): `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (`AWS_SESSION_TOKEN`); the
    /// profile's SSO settings in the config file; its keys in the shared credentials file
    /// (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`); its `credential_process`
    /// (either file); its keys in the config file (`AWS_CONFIG_FILE`, default `~/.aws/config`,
    /// sections `[profile NAME]`); the EC2 instance metadata service
    /// (`AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_METADATA_SERVICE_TIMEOUT`; none with
    /// `AWS_EC2_METADATA_DISABLED=true`). The
    /// last three sources are asked at the first call, and again before what they gave expires.
    /// The region comes from `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`;
    /// endpoints from `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, then the profile's `endpoint_url`.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AWSConfiguration {
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        let profile = nonEmpty(environment["AWS_PROFILE"]) ?? "default"
        let credentialsPath = expand(nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "~/.aws/credentials", home: home)
        let configPath = expand(nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "~/.aws/config", home: home)
        let credentialsFile = try read(credentialsPath)
        let configFile = try read(configPath)
        let fromCredentialsFile = credentialsFile?.credentialsProfile(profile)
        let fromConfigFile = configFile?.configProfile(profile)
        if nonEmpty(environment["AWS_PROFILE"]) != nil && fromCredentialsFile == nil && fromConfigFile == nil {
            throw AWSError.configuration("the AWS profile '\(profile)' (AWS_PROFILE) is in neither \(credentialsPath) "
                + "nor \(configPath): add it, or unset AWS_PROFILE")
        }

        var tried = ["AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not set)"]
        var credentials = try environmentCredentials(environment)
        var source: AWSCredentialSource?
        if credentials == nil, let fromConfigFile, let configFile {
            source = try AWSSingleSignOn.from(fromConfigFile, named: profile, file: configFile, configPath: configPath,
                                              home: home, environment: environment).map(AWSCredentialSource.singleSignOn)
            tried.append("SSO settings of profile '\(profile)' in \(configPath) (none)")
        }
        if credentials == nil && source == nil {
            credentials = try fileCredentials(fromCredentialsFile, profile: profile, file: credentialsPath)
            tried.append("keys of profile '\(profile)' in \(credentialsPath) (\(fromCredentialsFile == nil ? "no such profile" : "none"))")
        }
        if credentials == nil && source == nil,
           let command = nonEmpty(fromCredentialsFile?["credential_process"]) ?? nonEmpty(fromConfigFile?["credential_process"]) {
            source = .process(command: command, profile: profile)
        }
        tried.append("credential_process of profile '\(profile)' (none)")
        if credentials == nil && source == nil {
            credentials = try fileCredentials(fromConfigFile, profile: profile, file: configPath)
            tried.append("keys of profile '\(profile)' in \(configPath) (\(fromConfigFile == nil ? "no such profile" : "none"))")
        }
        if credentials == nil && source == nil {
            guard nonEmpty(environment["AWS_EC2_METADATA_DISABLED"])?.lowercased() != "true" else {
                throw AWSCredentialSource.noCredentials(tried: tried + ["instance metadata (AWS_EC2_METADATA_DISABLED=true)"])
            }
            source = .instanceMetadata(
                endpoint: nonEmpty(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"]).map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
                    ?? AWSInstanceMetadata.defaultEndpoint,
                timeout: nonEmpty(environment["AWS_METADATA_SERVICE_TIMEOUT"]).flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
                    ?? AWSInstanceMetadata.defaultTimeout,
                tried: tried)
        }
        let region = nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? nonEmpty(fromConfigFile?["region"])
        guard let region else {
            throw AWSError.configuration("no AWS region: set AWS_REGION, or add region to profile '\(profile)' in \(configPath)")
        }

        var serviceEndpoints: [String: String] = [:]
        let prefix = "AWS_ENDPOINT_URL_"
        for (name, value) in environment where name.hasPrefix(prefix) && !value.isEmpty {
            serviceEndpoints[String(name.dropFirst(prefix.count))] = value
        }
        return AWSConfiguration(
            credentials: credentials, credentialSource: source, region: region, profile: profile,
            endpoint: nonEmpty(environment["AWS_ENDPOINT_URL"]) ?? nonEmpty(fromConfigFile?["endpoint_url"]),
            serviceEndpoints: serviceEndpoints)
    }

    private static func environmentCredentials(_ environment: [String: String]) throws -> AWSCredentials? {
        let id = nonEmpty(environment["AWS_ACCESS_KEY_ID"])
        let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        switch (id, secret) {
        case let (id?, secret?):
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret,
                                  sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]))
        case (nil, nil):
            return nil
        case (_?, nil):
            throw AWSError.configuration("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both or neither")
        case (nil, _?):
            throw AWSError.configuration("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both or neither")
        }
    }

    private static func fileCredentials(_ settings: [String: String]?, profile: String, file: String) throws -> AWSCredentials? {
        guard let settings else { return nil }
        let id = nonEmpty(settings["aws_access_key_id"])
        let secret = nonEmpty(settings["aws_secret_access_key"])
        switch (id, secret) {
        case let (id?, secret?):
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret,
                                  sessionToken: nonEmpty(settings["aws_session_token"]))
        case (nil, nil):
            return nil
        default:
            throw AWSError.configuration("profile '\(profile)' in \(file) has only one of aws_access_key_id and "
                + "aws_secret_access_key: give both")
        }
    }

    /// nil when the file does not exist; other failures (permissions) are errors.
    private static func read(_ path: String) throws -> AWSProfileFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return AWSProfileFile(parsing: try String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw AWSError.configuration("cannot read \(path): check that it is a readable text file")
        }
    }

    private static func expand(_ path: String, home: String) -> String {
        path == "~" || path.hasPrefix("~/") ? home + path.dropFirst() : path
    }

    private static func nonEmpty(_ value: String?) -> String? {
        value.flatMap { $0.isEmpty ? nil : $0 }
    }
}
