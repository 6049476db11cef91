import AsyncHTTPClient
import Foundation
import NIOCore
import PyreCore

/// The CLI's side of the events API (`pyre events`).
public struct EventsClient: Sendable {
    let url: String
    let token: String

    /// Finds the running agent's events API through `STATE/agent.json` and `STATE/events-token`.
    public init(state: StateDirectory) throws {
        let endpoint = try AgentEndpoint.read(from: state.agentFile)
        guard let url = endpoint.events else {
            throw PyreError(.agent, "the running agent has no events API; restart it with this version of pyre")
        }
        self.url = url
        token = try state.readEventsToken()
    }

    /// Up to `limit` events of `stream` (or `$all`) from `start`, each as a JSON object.
    public func read(_ stream: String, from start: Int64, limit: Int) async throws -> [[String: Any]] {
        let path = stream == "$all" ? "/all" : "/streams/\(escaped(stream))"
        let body = try await send("\(path)?from=\(start)&limit=\(limit)", timeout: .seconds(30)) { response in
            Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        }
        let document = try JSONSerialization.jsonObject(with: body) as? [String: Any]
        return document?["events"] as? [[String: Any]] ?? []
    }

    /// Follows `stream` (or `$all`) from `start` over Server-Sent Events until cancelled.
    public func follow(_ stream: String, from start: Int64, onEvent: ([String: Any]) -> Void) async throws {
        try await send("/subscribe?stream=\(escaped(stream))&from=\(start)", timeout: .hours(24 * 365)) { response in
            var pending = ByteBuffer()
            for try await var chunk in response.body {
                pending.writeBuffer(&chunk)
                while let line = pending.readLine() {
                    guard line.hasPrefix("data: "),
                          let event = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
                    else { continue }
                    onEvent(event)
                }
            }
        }
    }

    private func escaped(_ stream: String) -> String {
        stream.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&="))) ?? stream
    }

    private func send<T>(_ path: String, timeout: TimeAmount, _ read: (HTTPClientResponse) async throws -> T) async throws -> T {
        var request = HTTPClientRequest(url: url + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = client.shutdown() as EventLoopFuture<Void> }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw PyreError(.agent, "cannot reach the events API at \(url): \(error); is `pyre up` still running?")
        }
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            var message = (try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)).message) ?? String(buffer: body)
            if message.isEmpty { message = "the events API answered \(response.status) to \(path), without a reason" }
            throw PyreError(response.status == .unauthorized ? .unauthorized : .events, message)
        }
        return try await read(response)
    }
}

private extension ByteBuffer {
    /// The next LF-terminated line without its terminator, nil until a whole line is buffered.
    mutating func readLine() -> String? {
        guard let newline = readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = readString(length: newline - readerIndex) ?? ""
        moveReaderIndex(forwardBy: 1)
        return line
    }
}
