import Foundation
@testable import PyreImages
import PyreCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `base: { oci: DIR }`: layers applied in order with their whiteouts, on layouts the tests
/// make themselves, and never through a symlink of a lower layer.
@Suite(.enabled(if: getuid() == 0, "unpacking layers with their owners needs root"))
struct OCIImportTests {
    @Test func whiteoutsRemoveLowerPathsAndOpaqueDirectoriesHideThem() async throws {
        try await withTemporaryDirectory { directory in
            let one = directory.appending(path: "one"), two = directory.appending(path: "two"), three = directory.appending(path: "three")
            try makeTree(one, [("etc/keep", "kept\n"), ("etc/gone", "whited out\n"), ("data/a", "a\n"), ("data/sub/c", "c\n"),
                               ("link", "-> data"), ("opaque-root-sibling", "stays\n"), ("dev/console", "a base's /dev is left out\n"),
                               ("usr/share/dev/kept", "not below /dev\n")])
            try makeTree(two, [("etc/.wh.gone", ""), ("data/.wh..wh..opq", ""), ("data/new", "new\n"),
                               ("etc/.wh.never-was", "")])
            // A directory replacing a lower symlink, and a whiteout and a new file of one name
            // in one layer (the whiteout is for the layers below).
            try makeTree(three, [("link/file", "in a real directory\n"), ("etc/.wh.keep", ""), ("etc/keep", "replaced\n")])
            let tars = [directory.appending(path: "1.tar"), directory.appending(path: "2.tar"), directory.appending(path: "3.tar.gz")]
            try makeTar(tars[0], of: one, members: ["./", "etc", "etc/keep", "etc/gone", "data", "data/a", "data/sub", "data/sub/c",
                                                    "link", "opaque-root-sibling", "dev", "dev/console", "usr", "usr/share",
                                                    "usr/share/dev", "usr/share/dev/kept"])
            try makeTar(tars[1], of: two, members: ["etc/", "etc/.wh.gone", "etc/.wh.never-was", "data/", "data/.wh..wh..opq",
                                                    "data/new"])
            try makeTar(tars[2], of: three, members: ["link/", "link/file", "etc/", "etc/.wh.keep", "etc/keep"], gzip: true)
            let layout = directory.appending(path: "layout")
            try writeLayout(layout, layers: tars)

            let tree = directory.appending(path: "base/tree")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            try await importer().unpack(layout, into: tree)
            let paths = try RootListing(of: tree).entries.map(\.path)
            #expect(paths == ["/data", "/data/new", "/dev", "/etc", "/etc/keep", "/link", "/link/file", "/opaque-root-sibling",
                              "/usr", "/usr/share", "/usr/share/dev", "/usr/share/dev/kept"])
            #expect(try String(contentsOf: tree.appending(path: "etc/keep"), encoding: .utf8) == "replaced\n")
            var info = stat()
            #expect(lstat(tree.appending(path: "link").path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
        }
    }

    @Test func aLowerLayersSymlinkCannotSendAHigherLayerOutOfTheTree() async throws {
        try await withTemporaryDirectory { directory in
            let outside = directory.appending(path: "outside")
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
            let one = directory.appending(path: "one"), two = directory.appending(path: "two")
            try makeTree(one, [("escape", "-> \(outside.path)")])
            try makeTree(two, [("escape/planted", "written outside the tree\n"), ("escape/.wh.victim", "")])
            try write("must stay\n", to: "victim", in: outside)
            let tars = [directory.appending(path: "1.tar"), directory.appending(path: "2.tar")]
            try makeTar(tars[0], of: one, members: ["escape"])
            // No `escape/` entry: tar makes the parent itself.
            try makeTar(tars[1], of: two, members: ["escape/planted", "escape/.wh.victim"])
            let layout = directory.appending(path: "layout")
            try writeLayout(layout, layers: tars)

            let tree = directory.appending(path: "base/tree")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            await #expect {
                try await importer().unpack(layout, into: tree)
            } throws: { error in
                ((error as? PyreError)?.message ?? "").contains("Pyre does not follow symlinks")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["victim"])
        }
    }
}
