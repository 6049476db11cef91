import Foundation
import PyreCore

/// `logs:` — `{ port: 5514, relp_port: 20514, max_age: 30d, max_size: 10GiB }`.
enum LogsSection {
    static let keys = ["port", "relp_port", "max_age", "max_size", "tls"]

    static func read(_ value: ManifestValue, directory: URL) throws -> LogsSpec {
        let logs = try value.mapping(expecting: "a mapping such as { port: 5514, max_age: 30d, max_size: 10GiB }",
                                     allowedKeys: keys)
        var spec = LogsSpec()
        if let port = logs.optional("port") { spec.port = try port.integer(in: 1...65535, name: "port") }
        if let port = logs.optional("relp_port") { spec.relpPort = try port.integer(in: 1...65535, name: "relp_port") }
        if let maxAge = logs.optional("max_age") {
            let text = try maxAge.string(expecting: "a duration such as 30d or 12h")
            guard let duration = parseDuration(text), duration > .zero else {
                throw maxAge.error("max_age must be a duration such as 30d, 12h or 90m, got '\(text)'")
            }
            spec.maxAge = duration
        }
        if let maxSize = logs.optional("max_size") {
            let text = try maxSize.string(expecting: "a size such as 10GiB or 500MB")
            guard let bytes = parseSize(text), bytes > 0 else {
                throw maxSize.error("max_size must be a size such as 10GiB, 500MB or 1000000 (bytes), got '\(text)'")
            }
            spec.maxSize = bytes
        }
        if let tls = logs.optional("tls") { spec.tls = try readTLS(tls, directory: directory) }
        return spec
    }

    /// `{ certificate: cert.pem, key: key.pem, port: 6514 }`; both files must exist.
    private static func readTLS(_ value: ManifestValue, directory: URL) throws -> LogsTLSSpec {
        let tls = try value.mapping(expecting: "a mapping such as { certificate: cert.pem, key: key.pem, port: 6514 }",
                                    allowedKeys: ["certificate", "key", "port"])
        func file(_ name: String) throws -> String {
            try ManifestFiles.existingPEM(tls.required(name), name: name, directory: directory)
        }
        var spec = LogsTLSSpec(certificate: try file("certificate"), key: try file("key"))
        if let port = tls.optional("port") { spec.port = try port.integer(in: 1...65535, name: "port") }
        return spec
    }

    /// `NUMBER[UNIT]` with units B, kB/MB/GB/TB (powers of 1000) and KiB/MiB/GiB/TiB (of 1024).
    static func parseSize(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard let number = Int(digits) else { return nil }
        let units: [String: Int] = ["": 1, "B": 1, "kB": 1_000, "KB": 1_000, "MB": 1_000_000, "GB": 1_000_000_000,
                                    "TB": 1_000_000_000_000, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40]
        guard let unit = units[text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)] else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: unit)
        return overflow ? nil : bytes
    }
}

/// Files pyre.yml names.
enum ManifestFiles {
    /// The path of an existing PEM file, resolved against the manifest's directory.
    static func existingPEM(_ entry: ManifestValue, name: String, directory: URL) throws -> String {
        let text = try entry.string(expecting: "a path to a PEM file")
        let path = text.hasPrefix("/") ? text : directory.appendingPathComponent(text).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw entry.error("\(name) file \(path) does not exist; give the path of a PEM file (relative to pyre.yml)")
        }
        return path
    }
}
