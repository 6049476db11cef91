import Foundation

/// A profile's `credential_process`: runs the command and reads the credentials it prints,
/// `{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …, "SessionToken": …, "Expiration": …}`.
/// What it prints is never repeated in an error: it holds the secret.
struct AWSCredentialProcess {
    var command: String
    var profile: String
    /// A command that has not answered by then is stopped.
    var timeout: TimeInterval = 60

    func run() async throws -> AWSCredentials {
        let (status, output, errors) = try await execute()
        guard status == 0 else {
            let said = String(decoding: errors, as: UTF8.self).split(whereSeparator: \.isNewline).first.map { ": \($0)" } ?? ""
            throw failure("exited with status \(status)\(said)")
        }
        return try parse(output)
    }

    func parse(_ output: Data) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw failure("printed no JSON object")
        }
        guard object["Version"] as? Int == 1 else {
            throw failure("printed Version \(object["Version"].map { "\($0)" } ?? "(none)"); Pyre reads Version 1")
        }
        guard let id = object["AccessKeyId"] as? String, !id.isEmpty,
              let secret = object["SecretAccessKey"] as? String, !secret.isEmpty else {
            throw failure("printed no AccessKeyId and SecretAccessKey")
        }
        let expiration = object["Expiration"] as? String
        if expiration != nil && AWSCredentialSource.date(expiration) == nil {
            throw failure("printed an Expiration that is not an ISO 8601 time")
        }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: object["SessionToken"] as? String,
                              expiration: AWSCredentialSource.date(expiration))
    }

    private func failure(_ what: String) -> AWSError {
        .configuration("the credential_process of AWS profile '\(profile)' (\(command)) \(what): fix the command "
            + "or run it by hand to see what it prints")
    }

    /// Runs the command on a thread of its own: Foundation's Process waits by blocking.
    private func execute() async throws -> (Int32, Data, Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw failure("could not start: \(error.localizedDescription)")
        }
        let timeout = self.timeout
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let stop = DispatchWorkItem { process.terminate() }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: stop)
                let group = DispatchGroup()
                nonisolated(unsafe) var said = Data()
                DispatchQueue.global().async(group: group) { said = errors.fileHandleForReading.readDataToEndOfFile() }
                let printed = output.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                stop.cancel()
                continuation.resume(returning: (process.terminationStatus, printed, said))
            }
        }
    }
}
