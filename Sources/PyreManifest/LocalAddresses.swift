import Glibc
import PyreCore

/// The IP addresses of this machine's interfaces: where a listener can bind.
struct LocalAddresses {
    var addresses: Set<String>

    static func current() -> LocalAddresses {
        var found: Set<String> = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return LocalAddresses(addresses: found) }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            if let address = current.pointee.ifa_addr, let text = Self.text(of: address) { found.insert(text) }
            entry = current.pointee.ifa_next
        }
        return LocalAddresses(addresses: found)
    }

    /// Hostnames are not checked: resolving them is the listener's business.
    func mayListen(on host: String) -> Bool {
        guard let family = Self.family(of: host) else { return true }
        if ["0.0.0.0", "::"].contains(host) { return true }
        // Linux routes all of 127.0.0.0/8 to lo, and Pyre gives systems 127.N addresses.
        if family == AF_INET && host.hasPrefix("127.") { return true }
        return addresses.contains(Self.canonical(host, family: family) ?? host)
    }

    var listed: String { addresses.sorted().joined(separator: ", ") }

    /// AF_INET or AF_INET6 for an address literal; nil for anything else (a hostname).
    static func family(of host: String) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, host, &buffer) == 1 { return AF_INET }
        if inet_pton(AF_INET6, host, &buffer) == 1 { return AF_INET6 }
        return nil
    }

    /// The address as `inet_ntop` writes it, so `::0001` and `::1` compare equal.
    private static func canonical(_ host: String, family: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 16)
        guard inet_pton(family, host, &buffer) == 1 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, buffer, &text, socklen_t(text.count)) != nil else { return nil }
        return String(cString: text)
    }

    private static func text(of address: UnsafeMutablePointer<sockaddr>) -> String? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            var ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            guard inet_ntop(AF_INET, &ipv4, &text, socklen_t(text.count)) != nil else { return nil }
        case AF_INET6:
            var ipv6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
            guard inet_ntop(AF_INET6, &ipv6, &text, socklen_t(text.count)) != nil else { return nil }
        default:
            return nil
        }
        return String(cString: text)
    }
}
