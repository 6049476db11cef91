import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import PyreCore

/// The one HTTP client of the agent's APIs: sends a route's request with the bearer token,
/// turns refusals into `PyreError`s with the server's message, and reads answers as JSON,
/// as JSON lines or as Server-Sent Events. `ControlClient` and `EventsClient` are its typed faces.
public struct APIClient: Sendable {
    /// `http://HOST:PORT`.
    public let url: String
    let token: String
    /// Names the server in messages: "the agent", "the events API".
    let name: String
    /// The code of the error a refusal becomes, by its status.
    let refusal: @Sendable (HTTPResponseStatus) -> PyreError.Code
    /// The CA certificates (PEM) an `https://` server is checked against, instead of the system's.
    let caPEM: String?

    public init(url: String, token: String, name: String, caPEM: String? = nil,
                refusal: @escaping @Sendable (HTTPResponseStatus) -> PyreError.Code) {
        self.url = url
        self.token = token
        self.name = name
        self.caPEM = caPEM
        self.refusal = refusal
    }

    /// A client of its own, which trusts ``caPEM`` when given; shut it down after use.
    func makeHTTPClient() throws -> HTTPClient {
        guard let caPEM else { return HTTPClient(eventLoopGroupProvider: .singleton) }
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        } catch {
            throw PyreError(.agent, "the CA certificate for \(name) is not PEM: \(error)")
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    /// The JSON answer to `request`, decoded as Pyre writes JSON.
    public func json<T: Decodable>(_ request: APIRequest, as type: T.Type = T.self, timeout: TimeAmount) async throws -> T {
        let body = try await send(request, timeout: timeout) { response in
            Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
        }
        return try JSONDecoder.pyre.decode(T.self, from: body)
    }

    /// Hands each line of the answer (LF-terminated, without the LF) to `onLine` as it arrives.
    public func lines(_ request: APIRequest, timeout: TimeAmount, onLine: (String) throws -> Void) async throws {
        try await send(request, timeout: timeout) { response in
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
    }

    /// Follows a Server-Sent Events answer until it ends or the task is cancelled, handing
    /// each event's `data` to `onData`; ids, types and keep-alive comments are not needed.
    public func serverSentEvents(_ request: APIRequest, onData: (String) throws -> Void) async throws {
        try await lines(request, timeout: .hours(24 * 365)) { line in
            if line.hasPrefix("data: ") { try onData(String(line.dropFirst(6))) }
        }
    }

    /// The whole answer to `request`, sent on `client`, whose connections stay open for the
    /// next request (a replay sends one per page).
    public func body(_ request: APIRequest, on client: HTTPClient, timeout: TimeAmount, upTo limit: Int) async throws -> ByteBuffer {
        try await send(request, on: client, timeout: timeout) { try await $0.body.collect(upTo: limit) }
    }

    /// Sends on a client of its own, shut down after the answer is read.
    private func send<T>(_ request: APIRequest, timeout: TimeAmount,
                         _ read: (HTTPClientResponse) async throws -> T) async throws -> T {
        let client = try makeHTTPClient()
        do {
            let result = try await send(request, on: client, timeout: timeout, read)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func send<T>(_ request: APIRequest, on client: HTTPClient, timeout: TimeAmount,
                         _ read: (HTTPClientResponse) async throws -> T) async throws -> T {
        var http = HTTPClientRequest(url: url + request.path)
        http.method = HTTPMethod(rawValue: request.method.rawValue)
        http.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(http, timeout: timeout)
        } catch {
            throw PyreError(.agent, "cannot reach \(name) at \(url): \(error); is `pyre up` still running?")
        }
        guard response.status == .ok else { throw try await refused(response, path: request.path) }
        return try await read(response)
    }

    /// The server's `ErrorBody` message, or its body, or what it answered.
    private func refused(_ response: HTTPClientResponse, path: String) async throws -> PyreError {
        let body = try await response.body.collect(upTo: 1 << 20)
        var message = (try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)).message)
            ?? String(buffer: body)
        if message.isEmpty { message = "\(name) answered \(response.status) to \(path), without a reason" }
        return PyreError(refusal(response.status), message)
    }
}
