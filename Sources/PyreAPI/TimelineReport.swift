import Foundation
import PyreCore

/// `GET /v1/history/{deployment}`: one deployment as the flight recorder tells it.
public struct TimelineReport: Codable, Sendable, Equatable {
    public struct Step: Codable, Sendable, Equatable {
        public var at: Date
        /// The server the step is about; nil for the deployment's own steps.
        public var server: String?
        /// `created`, `gate passed`, `canary watch failed`, `published`, `destroyed`, …
        public var step: String
        /// The figures and reasons behind it.
        public var detail: String

        public init(at: Date, server: String?, step: String, detail: String) {
            self.at = at
            self.server = server
            self.step = step
            self.detail = detail
        }
    }

    /// A server that failed a gate or a watch, with the last lines it logged.
    public struct FailedServer: Codable, Sendable, Equatable {
        public var server: String
        public var lines: [String]

        public init(server: String, lines: [String]) {
            self.server = server
            self.lines = lines
        }
    }

    public var deployment: DeploymentRecord
    public var steps: [Step]
    public var failedServers: [FailedServer]

    public init(deployment: DeploymentRecord, steps: [Step], failedServers: [FailedServer]) {
        self.deployment = deployment
        self.steps = steps
        self.failedServers = failedServers
    }
}
