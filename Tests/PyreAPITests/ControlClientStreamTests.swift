import Foundation
import PyreCore
import Testing
@testable import PyreAPI

#if canImport(Glibc)
import Glibc
#endif

/// A deploy's progress stream that the agent leaves without its result line.
struct ControlClientStreamTests {
    @Test(arguments: [true, false])
    func anAgentThatStopsMidDeployIsReportedAsStopped(brokenChunk: Bool) async throws {
        // One progress line, then the agent is gone: mid-chunk (killed) or after a clean end.
        let progress = #"{"creating":{"server":"web-2-0a1b"}}"# + "\n"
        var body = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
        body += String(progress.utf8.count, radix: 16) + "\r\n" + progress + "\r\n"
        body += brokenChunk ? "40\r\n{\"created\":" : "0\r\n\r\n"
        let agent = try OneShotHTTPServer(reply: body)
        let state = StateDirectory(root: FileManager.default.temporaryDirectory.appendingPathComponent("pyre-client-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: state.root) }
        try state.create()
        _ = try state.loadOrCreateToken()
        try AgentEndpoint(url: "http://127.0.0.1:\(agent.port)", pid: getpid(), system: "s", startedAt: Date()).write(to: state.agentFile)

        var seen: [ProgressEvent] = []
        let error = await #expect(throws: PyreError.self) {
            _ = try await ControlClient(state: state).deploy { seen.append($0) }
        }
        #expect(seen == [.creating(server: "web-2-0a1b")])
        let message = try #require(error).message
        #expect(message.hasPrefix("the agent stopped before the deploy finished"), "\(message)")
        #expect(message.contains("resumes or reverts the deploy") && message.contains("`pyre history`"))
    }
}

/// Answers one connection on 127.0.0.1 with fixed bytes, then closes it.
final class OneShotHTTPServer: Sendable {
    let port: Int
    private let listener: Int32

    init(reply: String) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(listener, socketAddress, length) == 0 && listen(listener, 1) == 0
                    && getsockname(listener, socketAddress, &length) == 0
            }
        }
        try #require(bound, "cannot listen on 127.0.0.1")
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            // Reads the request's head so closing does not reset the connection before the reply is read.
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = read(connection, &buffer, buffer.count)
            _ = reply.withCString { write(connection, $0, strlen($0)) }
            close(connection)
        }
    }

    deinit { close(listener) }
}
