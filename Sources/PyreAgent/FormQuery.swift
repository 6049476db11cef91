import Foundation

/// A URL query as HTML forms and Python's `urlencode` write it
/// (`application/x-www-form-urlencoded`): `+` is a space, `%2B` a plus.
enum FormQuery {
    /// The parameters of `query` (the part after `?`, still encoded); the last of a repeated name wins.
    static func parameters(_ query: String?) -> [String: String] {
        var parameters: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0]), value = parts.count > 1 ? decode(parts[1]) : ""
            parameters[name] = value
        }
        return parameters
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
