import PyreCore

/// An IPv4 subnet in CIDR notation, such as `10.213.0.0/16`.
struct IPv4Subnet: Equatable, CustomStringConvertible {
    /// The network address, host bits zero.
    let base: UInt32
    let prefixLength: Int

    init(_ text: String) throws {
        let invalid = PyreError(.provider, "subnet `\(text)` is not IPv4 CIDR notation such as 10.213.0.0/16 (prefix /8 to /30)")
        let parts = text.split(separator: "/")
        guard parts.count == 2, let prefixLength = Int(parts[1]), (8...30).contains(prefixLength),
              let address = IPv4Subnet.parse(String(parts[0])) else { throw invalid }
        let mask = UInt32.max << (32 - prefixLength)
        self.base = address & mask
        self.prefixLength = prefixLength
    }

    /// Number of addresses, network and broadcast included.
    var size: UInt32 { 1 << (32 - prefixLength) }

    /// The address `offset` places after the network address.
    func address(at offset: UInt32) -> String { IPv4Subnet.format(base + offset) }

    var description: String { "\(address(at: 0))/\(prefixLength)" }

    static func parse(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false).map { UInt32($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 != nil && $0! <= 255 }) else { return nil }
        return octets.reduce(0) { ($0 << 8) | $1! }
    }

    static func format(_ address: UInt32) -> String {
        [24, 16, 8, 0].map { String((address >> UInt32($0)) & 0xff) }.joined(separator: ".")
    }
}
