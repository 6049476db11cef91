import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PyreCore

/// The CLI's side of the control API.
public struct ControlClient: Sendable {
    public let endpoint: AgentEndpoint
    let token: String

    /// Finds the running agent through `STATE/agent.json` and `STATE/token`.
    public init(state: StateDirectory) throws {
        endpoint = try AgentEndpoint.read(from: state.agentFile)
        token = try state.readToken()
    }

    /// GETs a JSON document.
    public func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let body = try await send(path, method: .GET, timeout: .seconds(30)) { response in
            Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        }
        return try JSONDecoder.pyre.decode(T.self, from: body)
    }

    /// POSTs and returns a JSON document.
    public func post<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let body = try await send(path, method: .POST, timeout: .seconds(600)) { response in
            Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        }
        return try JSONDecoder.pyre.decode(T.self, from: body)
    }

    /// POSTs and hands each progress line to `onLine` as it arrives; returns the final
    /// (`result`) line. `operation` names it in the error when the agent stops before that
    /// line: "deploy", "verify", "destroy".
    public func stream(_ path: String, operation: String, onLine: (ProgressLine) -> Void) async throws -> ProgressLine {
        try await send(path, method: .POST, timeout: .hours(24)) { response in
            var last: ProgressLine?
            do {
                try await Self.forEachLine(of: response) { text in
                    let line = try JSONDecoder.pyre.decode(ProgressLine.self, from: Data(text.utf8))
                    onLine(line)
                    last = line
                }
            } catch is DecodingError {
                throw PyreError(.agent, "the agent at \(endpoint.url) sent a progress line this pyre cannot read; "
                    + "use the pyre binary that runs the agent")
            } catch {
                // The connection broke mid-stream: the agent process is gone.
                throw Self.agentStopped(during: operation)
            }
            guard let last, last.kind == .result else { throw Self.agentStopped(during: operation) }
            return last
        }
    }

    /// What happened when the progress stream ends before its result: the operation's
    /// outcome is decided by the agent's next start, from its journal.
    static func agentStopped(during operation: String) -> PyreError {
        PyreError(.agent, "the agent stopped before the \(operation) finished. When `pyre up` starts again it "
            + "replays its history and resumes or reverts the \(operation) (servers it had not published are "
            + "destroyed); then `pyre history` shows how the \(operation) ended and `pyre status` what runs")
    }

    /// GETs and hands each line of the body to `onLine` as it arrives (an event stream).
    public func followLines(_ path: String, onLine: (String) throws -> Void) async throws {
        try await send(path, method: .GET, timeout: .hours(24 * 365)) { response in
            try await Self.forEachLine(of: response, onLine)
        }
    }

    private static func forEachLine(of response: HTTPClientResponse, _ onLine: (String) throws -> Void) async throws {
        var pending = ByteBuffer()
        for try await var chunk in response.body {
            pending.writeBuffer(&chunk)
            while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending.readString(length: newline - pending.readerIndex) ?? ""
                pending.moveReaderIndex(forwardBy: 1)
                try onLine(line)
            }
        }
    }

    private func send<T>(_ path: String, method: HTTPMethod, timeout: TimeAmount,
                         _ read: (HTTPClientResponse) async throws -> T) async throws -> T {
        var request = HTTPClientRequest(url: endpoint.url + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: timeout)
            } catch {
                throw PyreError(.agent, "cannot reach the agent at \(endpoint.url): \(error); is `pyre up` still running?")
            }
            guard response.status == .ok else {
                let body = try await response.body.collect(upTo: 1 << 20)
                var message = (try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)).message)
                    ?? String(buffer: body)
                if message.isEmpty { message = "the agent answered \(response.status) to \(path), without a reason" }
                let code: PyreError.Code = response.status == .conflict ? .deployRunning
                    : response.status == .unauthorized ? .unauthorized : .agent
                throw PyreError(code, message)
            }
            let result = try await read(response)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
