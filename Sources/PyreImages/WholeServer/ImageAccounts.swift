import Foundation
import PyreCore

/// The accounts of a whole-server image, read from its /etc/passwd and /etc/group: who a
/// server runs as is the image's business, never the host's.
public struct ImageAccounts: Sendable {
    public struct Identity: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
    }

    struct Account: Equatable {
        var name: String
        var id: UInt32
        /// A user's primary group; unused for groups.
        var group: UInt32
    }

    let users: [Account]
    let groups: [Account]

    /// 65534, Debian's nobody: who a server runs as when the image names no user.
    static let nobody = Identity(uid: 65534, gid: 65534)

    public init(root: URL) {
        users = Self.parse((try? String(contentsOf: root.appending(path: "etc/passwd"), encoding: .utf8)) ?? "", groupField: 3)
        groups = Self.parse((try? String(contentsOf: root.appending(path: "etc/group"), encoding: .utf8)) ?? "", groupField: nil)
    }

    /// `NAME`, `UID` or either with `:GROUP`, as the image knows them; nil is nobody.
    public func identity(of user: String?) throws -> Identity {
        guard let user else { return Self.nobody }
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        var identity: Identity
        if let account = users.first(where: { $0.name == parts[0] }) {
            identity = Identity(uid: account.id, gid: account.group)
        } else if let number = UInt32(parts[0]) {
            identity = Identity(uid: number, gid: users.first { $0.id == number }?.group ?? number)
        } else {
            throw PyreError(.provider, "user '\(parts[0])' is not in the image's /etc/passwd; bake the image again "
                + "(a bake creates the image's user) or give a number")
        }
        if parts.count == 2 {
            if let group = groups.first(where: { $0.name == parts[1] }) {
                identity.gid = group.id
            } else if let number = UInt32(parts[1]) {
                identity.gid = number
            } else {
                throw PyreError(.provider, "group '\(parts[1])' is not in the image's /etc/group; give a group it has or a number")
            }
        }
        return identity
    }

    /// The image's passwd and group with `user` (and a group of the same name) added when
    /// missing, at the first free id from 1000 up; nil when nothing needs adding (the user
    /// is there, is a number, or is root).
    func adding(user: String, passwd: String, group: String) -> (passwd: String, group: String)? {
        let name = String(user.split(separator: ":", maxSplits: 1)[0])
        guard UInt32(name) == nil, !users.contains(where: { $0.name == name }) else { return nil }
        let taken = Set(users.map(\.id)).union(groups.map(\.id))
        let id = (UInt32(1000)...).first { !taken.contains($0) }!
        let groupID = groups.first { $0.name == name }?.id ?? id
        let addedGroup = groups.contains { $0.name == name } ? "" : "\(name):x:\(groupID):\n"
        return (Self.appending("\(name):x:\(id):\(groupID)::/nonexistent:/usr/sbin/nologin\n", to: passwd),
                Self.appending(addedGroup, to: group))
    }

    private static func appending(_ line: String, to text: String) -> String {
        text.isEmpty || text.hasSuffix("\n") ? text + line : text + "\n" + line
    }

    private static func parse(_ text: String, groupField: Int?) -> [Account] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, let id = UInt32(fields[2]) else { return nil }
            let group = groupField.flatMap { fields.count > $0 ? UInt32(fields[$0]) : nil } ?? id
            return Account(name: String(fields[0]), id: id, group: group)
        }
    }
}
