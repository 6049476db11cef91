/// `listen:` values: where Pyre binds a listener.
enum ListenAddress {
    /// `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`).
    static func read(_ value: ManifestValue) throws -> String {
        let text = try value.string(expecting: "an address such as \"127.0.0.1:8080\"")
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else {
            throw value.error("listen must be HOST:PORT, e.g. \"127.0.0.1:8080\", got \"\(text)\"")
        }
        let host = text[..<colon], portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw value.error("port in listen must be between 1 and 65535, got \"\(portText)\"")
        }
        guard !host.contains(":") || (host.hasPrefix("[") && host.hasSuffix("]")) else {
            throw value.error("put an IPv6 address in brackets, e.g. \"[::1]:\(port)\", got \"\(text)\"")
        }
        return text
    }
}
