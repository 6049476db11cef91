import Foundation
import Testing
@testable import PyreAWS

/// Credentials, region and endpoints from the environment and the two shared files, each
/// test in its own temporary HOME.
@Suite final class AWSConfigurationTests {
    let home: URL

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-aws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: home)
    }

    func write(_ text: String, to name: String) throws {
        try text.write(to: home.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func resolve(_ variables: [String: String] = [:]) throws -> AWSConfiguration {
        try AWSConfiguration.resolve(environment: ["HOME": home.path].merging(variables) { $1 })
    }

    @Test func environmentVariablesComeFirst() throws {
        try write("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n", to: ".aws/credentials")
        try write("[default]\nregion = eu-west-1\n", to: ".aws/config")
        let configuration = try resolve([
            "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken",
            "AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "us-west-2",
        ])
        #expect(configuration.credentials == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret",
                                                            sessionToken: "envtoken"))
        #expect(configuration.region == "ap-south-1")
    }

    @Test func defaultRegionVariableBeatsTheConfigFile() throws {
        try write("[default]\nregion = eu-west-1\n", to: ".aws/config")
        let configuration = try resolve(["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S",
                                         "AWS_DEFAULT_REGION": "us-west-2"])
        #expect(configuration.region == "us-west-2")
    }

    @Test func namedProfileFromBothFiles() throws {
        try write("""
            # comment
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = defaultsecret

            [staging]
            aws_access_key_id = STAGINGKEY
            aws_secret_access_key = stagingsecret
            aws_session_token = stagingtoken
            """, to: ".aws/credentials")
        try write("""
            [default]
            region = eu-west-1
            [profile staging]
            region = eu-central-1
            s3 =
              max_concurrent_requests = 20
            endpoint_url = http://127.0.0.1:4566
            """, to: ".aws/config")
        let configuration = try resolve(["AWS_PROFILE": "staging"])
        #expect(configuration.profile == "staging")
        #expect(configuration.credentials == AWSCredentials(accessKeyID: "STAGINGKEY", secretAccessKey: "stagingsecret",
                                                            sessionToken: "stagingtoken"))
        #expect(configuration.region == "eu-central-1")
        #expect(configuration.endpoint(for: .ec2) == "http://127.0.0.1:4566")
    }

    @Test func credentialsFileBeatsConfigFile() throws {
        try write("[default]\naws_access_key_id = CREDKEY\naws_secret_access_key = credsecret\n", to: ".aws/credentials")
        try write("[default]\nregion = eu-west-1\naws_access_key_id = CONFKEY\naws_secret_access_key = confsecret\n",
                  to: ".aws/config")
        #expect(try resolve().credentials?.accessKeyID == "CREDKEY")
    }

    @Test func configFileAloneCanHoldCredentials() throws {
        try write("[profile ci]\nregion = eu-west-1\naws_access_key_id = CONFKEY\naws_secret_access_key = confsecret\n",
                  to: ".aws/config")
        let configuration = try resolve(["AWS_PROFILE": "ci"])
        #expect(configuration.credentials?.accessKeyID == "CONFKEY")
        #expect(configuration.region == "eu-west-1")
    }

    @Test func fileLocationOverrides() throws {
        try write("[default]\naws_access_key_id = ELSEWHERE\naws_secret_access_key = s\n", to: "creds.ini")
        try write("[default]\nregion = sa-east-1\n", to: "config.ini")
        let configuration = try resolve([
            "AWS_SHARED_CREDENTIALS_FILE": home.appendingPathComponent("creds.ini").path,
            "AWS_CONFIG_FILE": home.appendingPathComponent("config.ini").path,
        ])
        #expect(configuration.credentials?.accessKeyID == "ELSEWHERE")
        #expect(configuration.region == "sa-east-1")
    }

    @Test func serviceEndpointBeatsTheSharedOneWhichBeatsAWS() throws {
        let configuration = try resolve([
            "AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_EC2": "http://127.0.0.1:5001",
        ])
        #expect(configuration.endpoint(for: .ec2) == "http://127.0.0.1:5001")
        #expect(configuration.endpoint(for: .route53) == "http://127.0.0.1:5000")
        let plain = try resolve(["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_REGION": "eu-west-1"])
        #expect(plain.endpoint(for: .ec2) == "https://ec2.eu-west-1.amazonaws.com")
        #expect(plain.endpoint(for: .route53) == "https://route53.amazonaws.com")
    }

    @Test func missingPiecesSayWhatToSet() throws {
        let noCredentials = #expect(throws: AWSError.self) {
            try resolve(["AWS_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true"])
        }
        #expect(noCredentials?.description.contains("AWS_ACCESS_KEY_ID") == true)
        #expect(noCredentials?.description.contains("credential_process") == true)
        let noRegion = #expect(throws: AWSError.self) {
            try resolve(["AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S"])
        }
        #expect(noRegion?.description.contains("AWS_REGION") == true)
        let noProfile = #expect(throws: AWSError.self) { try resolve(["AWS_PROFILE": "nowhere"]) }
        #expect(noProfile?.description.contains("'nowhere'") == true)
    }

    @Test func halfSetCredentialsFailWithoutShowingTheSecret() throws {
        let error = #expect(throws: AWSError.self) {
            try resolve(["AWS_SECRET_ACCESS_KEY": "topsecret-env", "AWS_REGION": "eu-west-1"])
        }
        #expect(error?.kind == .configuration)
        #expect(error?.description.contains("topsecret") == false)
        try write("[default]\naws_secret_access_key = topsecret-file\n", to: ".aws/credentials")
        let fileError = #expect(throws: AWSError.self) { try resolve(["AWS_REGION": "eu-west-1"]) }
        #expect(fileError?.description.contains("topsecret") == false)
    }

    @Test func secretsNeverPrint() throws {
        let configuration = try resolve(["AWS_ACCESS_KEY_ID": "AKIDVISIBLE", "AWS_SECRET_ACCESS_KEY": "topsecret-key",
                                         "AWS_SESSION_TOKEN": "topsecret-token", "AWS_REGION": "eu-west-1"])
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), "\(configuration.credentials)",
                     String(reflecting: configuration.credentials), dumped] {
            #expect(text.contains("AKIDVISIBLE"))
            #expect(!text.contains("topsecret"), "\(text)")
        }
    }
}
