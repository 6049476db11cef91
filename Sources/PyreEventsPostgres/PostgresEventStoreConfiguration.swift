import Foundation
import PyreCore

/// Where and how ``PostgresEventStore`` connects, usually parsed from a URL:
///
///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=MODE]
///     postgresql://USER@/DATABASE?host=/run/postgresql      (unix socket directory)
///
/// User, password and database are percent-decoded. `sslmode` is `disable`, `prefer` (the
/// default, as in libpq), `require` (encrypt, do not verify the certificate) or `verify-full`.
/// The password never appears in ``description`` or in any error.
public struct PostgresEventStoreConfiguration: Sendable, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The server's socket is `DIRECTORY/.s.PGSQL.PORT`, as libpq names it.
        case unixSocket(directory: String, port: Int)
    }

    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        case disable
        case prefer
        case require
        case verifyFull = "verify-full"
    }

    public var endpoint: Endpoint
    public var username: String
    public var password: String?
    public var database: String
    /// Ignored for unix sockets, which never use TLS.
    public var tls: TLSMode
    /// Connections the store's read pool may open; appends have one connection of their own.
    public var maximumConnections: Int

    public init(endpoint: Endpoint, username: String, password: String?, database: String,
                tls: TLSMode = .prefer, maximumConnections: Int = 10) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.maximumConnections = maximumConnections
    }

    /// Parses a `postgres://` or `postgresql://` URL; errors name the part that is wrong.
    public init(url: String) throws {
        var rest = Substring(url)
        guard let schemeEnd = rest.range(of: "://") else {
            throw Self.invalid("it has no scheme", fix: "start it with postgres://")
        }
        let scheme = rest[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw Self.invalid("its scheme is '\(scheme)'", fix: "start it with postgres:// or postgresql://")
        }
        rest = rest[schemeEnd.upperBound...]

        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        guard let at = rest.lastIndex(of: "@") else {
            throw Self.invalid("it names no user", fix: "write postgres://USER@HOST/DATABASE")
        }
        let userInfo = rest[..<at]
        let hostAndPort = rest[rest.index(after: at)...]

        let user: Substring
        if let colon = userInfo.firstIndex(of: ":") {
            user = userInfo[..<colon]
            password = try Self.decode(userInfo[userInfo.index(after: colon)...], part: "password")
        } else {
            user = userInfo
            password = nil
        }
        username = try Self.decode(user, part: "user name")
        guard !username.isEmpty else {
            throw Self.invalid("its user name is empty", fix: "write postgres://USER@HOST/DATABASE")
        }
        database = try Self.decode(path, part: "database name")
        guard !database.isEmpty else {
            throw Self.invalid("it names no database", fix: "end the address with /DATABASE")
        }

        let parameters = try Self.parameters(query)
        tls = try parameters["sslmode"].map { mode in
            guard let tls = TLSMode(rawValue: mode) else {
                throw Self.invalid("sslmode '\(mode)' is not supported",
                                   fix: "use one of " + TLSMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return tls
        } ?? .prefer
        let (host, port) = try Self.hostAndPort(hostAndPort)
        if let directory = parameters["host"] {
            guard directory.hasPrefix("/"), host.isEmpty else {
                throw Self.invalid("its host parameter '\(directory)' is not a socket directory, or a host is "
                    + "named as well", fix: "give an absolute directory and leave the host out: "
                    + "postgres://USER@/DATABASE?host=/run/postgresql")
            }
            endpoint = .unixSocket(directory: directory, port: port)
        } else {
            guard !host.isEmpty else {
                throw Self.invalid("it names no host",
                                   fix: "write postgres://USER@HOST/DATABASE, or add ?host=/SOCKET/DIRECTORY")
            }
            endpoint = .tcp(host: host, port: port)
        }
        maximumConnections = 10
    }

    /// The URL with the password replaced by `***`.
    public var description: String {
        let secret = password == nil ? "" : ":***"
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? text }
        let tlsParameter = tls == .prefer ? "" : "sslmode=\(tls.rawValue)"
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "postgres://\(encode(username))\(secret)@\(shownHost):\(port)/\(encode(database))"
                + (tlsParameter.isEmpty ? "" : "?" + tlsParameter)
        case .unixSocket(let directory, let port):
            return "postgres://\(encode(username))\(secret)@:\(port)/\(encode(database))?host=\(directory)"
        }
    }

    public var debugDescription: String { description }

    /// Keeps the password out of `dump` and of test failure messages.
    public var customMirror: Mirror {
        Mirror(self, children: ["url": description], displayStyle: .struct)
    }

    private static func hostAndPort(_ text: Substring) throws -> (host: String, port: Int) {
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw invalid("its IPv6 host '\(text)' has no closing ]", fix: "write [ADDRESS]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw invalid("text follows the IPv6 host '\(text)'", fix: "write [ADDRESS]:PORT")
                }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let portText else { return (String(host), 5432) }
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw invalid("its port '\(portText)' is not a number from 1 to 65535", fix: "write HOST:PORT, e.g. db:5432")
        }
        return (String(host), port)
    }

    private static func parameters(_ query: Substring) throws -> [String: String] {
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decode(parts[0], part: "parameter name")
            guard ["sslmode", "host"].contains(name) else {
                throw invalid("it has the unknown parameter '\(name)'", fix: "use only sslmode and host")
            }
            parameters[name] = try decode(parts.count > 1 ? parts[1] : "", part: "parameter \(name)")
        }
        return parameters
    }

    private static func decode(_ text: Substring, part: String) throws -> String {
        guard let decoded = String(text).removingPercentEncoding else {
            // Never echo the text: it may be the password.
            throw invalid("its \(part) has a malformed %-escape", fix: "write a % in it as %25")
        }
        return decoded
    }

    private static func invalid(_ problem: String, fix: String) -> PyreError {
        PyreError(.events, "the event store URL is not a PostgreSQL URL: \(problem); \(fix)")
    }
}
