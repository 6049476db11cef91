/// The pieces of SigV4's canonical request.
enum CanonicalRequest {
    /// The path with `.`/`..` segments resolved and empty segments dropped when `normalize`
    /// is on, then percent-encoded (slashes kept).
    static func uri(_ path: String, normalize: Bool) -> String {
        let resolved = normalize ? normalizedPath(path) : path
        return resolved.isEmpty ? "/" : PercentEncoding.encode(resolved, keepSlash: true)
    }

    /// RFC 3986 dot-segment removal plus collapsing of repeated slashes; a trailing slash
    /// (or a trailing `.`/`..`, which names a directory) is kept.
    static func normalizedPath(_ path: String) -> String {
        var segments: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        for part in parts {
            switch part {
            case "", ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(part)
            }
        }
        let last = parts.last ?? ""
        let directory = last.isEmpty || last == "." || last == ".."
        var result = "/" + segments.joined(separator: "/")
        if directory && !segments.isEmpty { result += "/" }
        return result
    }

    /// Parameters decoded from a query string as sent (`a=1&b`), in order.
    static func parameters(of query: String) -> [(name: String, value: String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (PercentEncoding.decode(String(parts[0])),
                    parts.count > 1 ? PercentEncoding.decode(String(parts[1])) : "")
        }
    }

    /// Encoded `name=value` pairs sorted by name, then value.
    static func query(_ parameters: [(name: String, value: String)]) -> String {
        parameters
            .map { (PercentEncoding.encode($0.name), PercentEncoding.encode($0.value)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lower-case names, sorted; the values of a repeated name joined with commas in order;
    /// each value trimmed with inner runs of whitespace (folded lines too) made one space.
    static func headers(_ headers: [SigV4Request.Header]) -> (block: String, signed: String) {
        var values: [String: [String]] = [:]
        for header in headers {
            values[header.name.lowercased(), default: []].append(collapsingWhitespace(header.value))
        }
        let names = values.keys.sorted()
        let block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    private static func collapsingWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
            .joined(separator: " ")
    }
}
