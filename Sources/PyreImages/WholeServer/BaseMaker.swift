#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PyreCore
import PyrePOSIX

/// Makes the base layer of a whole-server image: a Debian suite with mmdebstrap, a root
/// filesystem tar, or an OCI image layout; then normalises it (``RootNormalisation``).
public struct BaseMaker {
    let image: String
    let progress: @Sendable (BakeProgress) -> Void
    let timeout: Duration

    /// Pinned to a fixed time: mmdebstrap and the tools it runs write no clock of this
    /// machine's into the base.
    static let sourceDateEpoch = "1700000000"

    /// mmdebstrap's minbase plus `packages` (or exactly `locked`, every package at its
    /// version) into `tree`; returns what is installed, `name=version`, sorted.
    func debian(suite: String, packages: [String], mirror: String?, locked: [String]?, into tree: URL) async throws -> [String] {
        let variant = locked == nil ? "minbase" : "custom"
        let include = (locked ?? packages).joined(separator: ",")
        var arguments = ["mmdebstrap", "--mode=root", "--format=directory", "--variant=\(variant)"]
        if !include.isEmpty { arguments.append("--include=\(include)") }
        arguments += [suite, tree.path] + Self.mirrors(for: suite, given: mirror)
        let outcome = try await run(arguments, what: "mmdebstrap")
        guard outcome.termination == .exited(code: 0) else {
            let output = outcome.lastLines.joined(separator: "\n")
            let missing = ["was not found", "Unable to locate package", "has no installation candidate"].contains { output.contains($0) }
            if locked != nil && missing {
                throw PyreError(.bake, "image '\(image)': pyre.lock pins package versions the Debian mirror no longer has; run "
                    + "`pyre bake --update` to lock the versions it has now (and commit pyre.lock). mmdebstrap said:\n"
                    + outcome.lastLines.map { "  | " + $0 }.joined(separator: "\n"))
            }
            throw failure("mmdebstrap (Debian \(suite) with \(packages.joined(separator: ", ")))", outcome,
                          advice: "check the package names and that the mirror is reachable (`apt-get update` works)")
        }
        try Self.useCanonicalSources(in: tree, suite: suite)
        return try Self.installedPackages(in: tree)
    }

    /// A root filesystem tar (any compression GNU tar reads), owners and modes as stored.
    /// What it has in /dev is left out: a server's /dev is its own.
    func rootfs(_ archive: URL, into tree: URL) async throws {
        let outcome = try await run(["tar", "--extract", "--file", archive.path, "--directory", tree.path, "--numeric-owner",
                                     "--same-owner", "--same-permissions", "--no-overwrite-dir",
                                     // Anchored: `usr/share/dev/x` is no device's.
                                     "--anchored", "--exclude=./dev/*", "--exclude=dev/*"], what: "tar")
        guard outcome.termination == .exited(code: 0) else {
            throw failure("unpacking \(archive.path)", outcome, advice: "give a tar of a root filesystem (`base: { rootfs: ./base.tar }`)")
        }
    }

    /// Runs a tool with its output as progress lines.
    func run(_ arguments: [String], what: String) async throws -> BuildStepOutcome {
        let environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "SOURCE_DATE_EPOCH": Self.sourceDateEpoch, "LC_ALL": "C.UTF-8", "HOME": "/root"]
        let image = image, progress = progress
        do {
            return try await BuildStep.run(arguments: arguments, in: URL(fileURLWithPath: "/"), environment: environment,
                                           timeout: timeout) { line in progress(.output(image: image, line: line)) }
        } catch let error as PyreError {
            throw PyreError(.bake, "image '\(image)': cannot run \(what) (\(error.message)); install it (Debian package `\(what)`)")
        }
    }

    func failure(_ what: String, _ outcome: BuildStepOutcome, advice: String) -> PyreError {
        let how = switch outcome.termination {
        case .exited(let code): "failed with exit code \(code)"
        case .signaled(let signal): "was killed by signal \(signal)"
        case .timedOut: "timed out after \(timeout)"
        }
        return PyreError(.bake, "image '\(image)': \(what) \(how); \(advice). Last lines of its output:\n"
            + outcome.lastLines.map { "  | " + $0 }.joined(separator: "\n"))
    }

    /// `name=version` of every package installed in `tree`, sorted.
    static func installedPackages(in tree: URL) throws -> [String] {
        let (status, output) = try ProcessSpawner.run(["dpkg-query", "--admindir=\(tree.path)/var/lib/dpkg", "-W",
                                                       "-f", "${Package}=${Version}\\n"])
        guard status == 0 else { throw PyreError(.bake, "cannot list the packages of the base at \(tree.path): \(output)") }
        return output.split(separator: "\n").map(String.init).sorted()
    }

    /// The machine's apt sources that name `suite` (files mmdebstrap pastes into the base's
    /// sources), the given mirror, or none (mmdebstrap's default, deb.debian.org).
    public static func mirrors(for suite: String, given mirror: String?) -> [String] {
        if let mirror { return [mirror] }
        let directory = "/etc/apt/sources.list.d"
        let files = ["/etc/apt/sources.list"] + ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".sources") || $0.hasSuffix(".list") }.sorted().map { directory + "/" + $0 }
        return files.filter { file in
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return false }
            return text.split(separator: "\n").contains { line in
                !line.hasPrefix("#") && line.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains {
                    $0 == suite || $0.hasPrefix(suite + "-")
                }
            }
        }
    }

    /// The base's apt sources say deb.debian.org whatever mirror built it, so the same lock
    /// gives the same base on every machine.
    static func useCanonicalSources(in tree: URL, suite: String) throws {
        let apt = tree.path + "/etc/apt"
        try FileTree.remove(apt + "/sources.list")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: apt + "/sources.list.d")) ?? [] {
            try FileTree.remove(apt + "/sources.list.d/" + name)
        }
        try FileManager.default.createDirectory(atPath: apt + "/sources.list.d", withIntermediateDirectories: true)
        let sources = """
            Types: deb
            URIs: http://deb.debian.org/debian
            Suites: \(suite)
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            """
        try sources.write(toFile: apt + "/sources.list.d/debian.sources", atomically: false, encoding: .utf8)
    }
}
