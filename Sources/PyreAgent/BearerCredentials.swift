/// `Authorization: Bearer TOKEN`, checked as RFC 7235 and RFC 6750 say: the scheme's case
/// does not matter (`bearer`, `BEARER`), the token's does.
enum BearerCredentials {
    static func match(_ header: String?, token: String) -> Bool {
        guard let header, let space = header.firstIndex(of: " "),
              header[..<space].lowercased() == "bearer" else { return false }
        let presented = header[header.index(after: space)...].drop { $0 == " " }
        return constantTimeEqual(Array(presented.utf8), Array(token.utf8))
    }

    /// Takes as long for a wrong token as for a right one of the same length.
    static func constantTimeEqual(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
