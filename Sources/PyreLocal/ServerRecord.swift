import Foundation
import Glibc
import PyreCore

/// What the provider keeps about a server in `serversDirectory/<id>/server.json`, so that
/// a restarted agent's provider finds, inspects and destroys servers it did not create.
struct ServerRecord: Codable, Equatable {
    /// The server as created; `state` is recomputed on every read.
    var info: ServerInfo
    var isolation: IsolationMode
    /// The process the provider started (session and process group leader); 0 until it runs.
    var pid: pid_t
    /// `/proc/PID/stat` start time of `pid`, so a reused pid is not taken for the server.
    var startTime: UInt64
    /// Namespace mode: the named network namespace and the host end of the veth pair.
    var networkNamespace: String?
    var hostInterface: String?

    static let fileName = "server.json"

    static func load(from directory: URL) -> ServerRecord? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(fileName)) else { return nil }
        return try? decoder.decode(ServerRecord.self, from: data)
    }

    /// Writes atomically, so a crash never leaves half a record.
    func save(in directory: URL) throws {
        try Self.encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }()
}
