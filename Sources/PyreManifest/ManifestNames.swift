import PyreCore

/// Name rules for the manifest. Names of the system, images, services and entrypoints become
/// parts of DNS names, server ids and file names, so they are plain lowercase DNS labels.
enum ManifestNames {
    static let dnsLabelRule = "use 1-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen"

    static func isDNSLabel(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (1...63).contains(scalars.count), let first = scalars.first, let last = scalars.last,
              ("a"..."z").contains(first), last != "-"
        else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// An absolute DNS name in lowercase with its trailing dot, or nil when `name` is not a
    /// valid host name (RFC 1123 labels: letters, digits, hyphens; 1-63 each; 253 in all).
    static func absoluteDNSName(_ name: String) -> String? {
        let relative = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !relative.isEmpty, relative.utf8.count <= 253 else { return nil }
        let labels = relative.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            let scalars = Array(label.unicodeScalars)
            guard (1...63).contains(scalars.count), scalars.first != "-", scalars.last != "-" else { return false }
            return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
        return valid ? labels.joined(separator: ".") + "." : nil
    }

    /// POSIX-style environment variable names, the ones every shell can read.
    static func isEnvironmentName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, !("0"..."9").contains(first) else { return false }
        return scalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}
