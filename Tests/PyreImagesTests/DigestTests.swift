import Foundation
import PyreCore
@testable import PyreImages
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct DigestTests {
    let baker = ImageBaker(store: ImageStore(root: URL(filePath: "/nonexistent-pyre-store")))

    @Test func sameInputsGiveTheSameDigestTwiceAndFromAnotherPath() async throws {
        try await withTemporaryDirectory { directory in
            let first = try makeContext(in: directory.appending(path: "a/web"))
            let second = try makeContext(in: directory.appending(path: "elsewhere/deeper/web"))
            let digest = try baker.digest(of: recipe(context: first))
            #expect(try baker.digest(of: recipe(context: first)) == digest)
            #expect(try baker.digest(of: recipe(context: second)) == digest)
            #expect(digest.hex != nil)
        }
    }

    @Test func recipeNameAndTimeoutDoNotChangeTheDigest() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            var renamed = recipe(context: context)
            renamed.name = "api"
            renamed.buildTimeout = .seconds(5)
            #expect(try baker.digest(of: renamed) == baker.digest(of: recipe(context: context)))
        }
    }

    @Test func everyInputChangesTheDigest() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory.appending(path: "web"))
            var digests: [String: ImageDigest] = [:]
            digests["base"] = try baker.digest(of: recipe(context: context))
            digests["build"] = try baker.digest(of: recipe(context: context, build: ["true", "true"]))
            digests["run"] = try baker.digest(of: recipe(context: context, run: ["./app.sh", "--verbose"]))
            digests["env value"] = try baker.digest(of: recipe(context: context, env: ["GREETING": "hi"]))
            digests["env key"] = try baker.digest(of: recipe(context: context, env: ["GREETINGS": "hello"]))
            // Length prefixes keep moved boundaries apart: ["ab"] vs ["a", "b"].
            digests["split step"] = try baker.digest(of: recipe(context: context, build: ["tr", "ue"]))

            try write("nested, changed\n", to: "lib/data.txt", in: context)
            digests["content"] = try baker.digest(of: recipe(context: context))
            #expect(chmod(context.appending(path: "lib/data.txt").path, 0o755) == 0)
            digests["mode"] = try baker.digest(of: recipe(context: context))
            try FileManager.default.moveItem(at: context.appending(path: "lib/data.txt"),
                                             to: context.appending(path: "lib/data2.txt"))
            digests["name"] = try baker.digest(of: recipe(context: context))
            try FileManager.default.removeItem(at: context.appending(path: "link"))
            try FileManager.default.createSymbolicLink(atPath: context.appending(path: "link").path,
                                                       withDestinationPath: "lib/data2.txt")
            digests["symlink target"] = try baker.digest(of: recipe(context: context))
            try FileManager.default.createDirectory(at: context.appending(path: "empty"), withIntermediateDirectories: false)
            digests["empty directory"] = try baker.digest(of: recipe(context: context))

            #expect(Set(digests.values).count == digests.count, "colliding digests: \(digests)")
        }
    }

    @Test func writeBitsAreNotPartOfTheDigest() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            let before = try treeDigest(of: context)
            #expect(chmod(context.appending(path: "lib/data.txt").path, 0o444) == 0)
            #expect(try treeDigest(of: context) == before)
        }
    }

    @Test func treeDigestDiffersFromTheRecipeDigest() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            #expect(try treeDigest(of: context) != baker.digest(of: recipe(context: context)))
        }
    }

    @Test func missingContextIsABakeError() throws {
        let missing = recipe(context: URL(filePath: "/nonexistent-pyre-context"))
        let error = try #require(throws: PyreError.self) { try baker.digest(of: missing) }
        #expect(error.code == .bake)
        #expect(error.message.contains("/nonexistent-pyre-context is not a directory"))
    }

    @Test func contextHoldingTheStoreIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            let baker = ImageBaker(store: ImageStore(root: context.appending(path: ".pyre/volatile/images")))
            let error = try #require(throws: PyreError.self) { try baker.digest(of: recipe(context: context)) }
            #expect(error.message.contains("contains the image store"))
        }
    }

    @Test func specialFilesAreRejected() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            #expect(mkfifo(context.appending(path: "pipe").path, 0o644) == 0)
            let error = try #require(throws: PyreError.self) { try baker.digest(of: recipe(context: context)) }
            #expect(error.message.contains("pipe is not a file, directory or symlink"))
        }
    }
}
