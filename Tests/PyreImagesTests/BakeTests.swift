import Foundation
import PyreCore
@testable import PyreImages
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct BakeTests {
    @Test func bakesStepsInAScratchCopyWithTheRecipeEnv() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory.appending(path: "web"))
            let baker = ImageBaker(store: ImageStore(root: directory.appending(path: "images")))
            let log = ProgressLog()
            let image = try await baker.bake(recipe(context: context, build: [
                "echo \"$GREETING\" > greeting.txt",
                "echo step two; echo to stderr >&2; echo cache > \"$HOME/cache\"",
            ]), progress: log.record)

            #expect(image.name == "web")
            #expect(image.digest == (try baker.digest(of: recipe(context: context, build: [
                "echo \"$GREETING\" > greeting.txt",
                "echo step two; echo to stderr >&2; echo cache > \"$HOME/cache\"",
            ]))))
            #expect(try String(contentsOf: image.root.appending(path: "greeting.txt"), encoding: .utf8) == "hello\n")
            #expect(try String(contentsOf: image.root.appending(path: "lib/data.txt"), encoding: .utf8) == "nested\n")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: image.root.appending(path: "link").path) == "lib/data.txt")
            #expect(mode(of: image.root.appending(path: "app.sh")) == 0o555)
            // The build's HOME is thrown away, and the context is untouched.
            #expect(!FileManager.default.fileExists(atPath: image.root.appending(path: "cache").path))
            #expect(!FileManager.default.fileExists(atPath: context.appending(path: "greeting.txt").path))
            #expect(log.outputLines == ["step two", "to stderr"])
            let steps = log.all.compactMap { progress -> String? in
                switch progress {
                case .started(_, let step, let count, _): "started \(step)/\(count)"
                case .finished(_, let step, _): "finished \(step)"
                default: nil
                }
            }
            #expect(steps == ["started 1/2", "finished 1", "started 2/2", "finished 2"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appending(path: "images").path)
                == [image.digest.hex!])
        }
    }

    @Test func secondBakeIsCachedAndRunsNothing() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory.appending(path: "web"))
            let counter = directory.appending(path: "runs")
            let baker = ImageBaker(store: ImageStore(root: directory.appending(path: "images")))
            let web = recipe(context: context, build: ["echo run >> '\(counter.path)'"])

            let first = try await baker.bake(web)
            let log = ProgressLog()
            let second = try await baker.bake(web, progress: log.record)

            #expect(second == first)
            #expect(log.wasCached)
            #expect(log.all.count == 1)
            #expect(try String(contentsOf: counter, encoding: .utf8) == "run\n")
            #expect(ImageStore(root: directory.appending(path: "images")).image(for: first.digest) == first)
        }
    }

    @Test func failingStepReportsExitCodeAndLastTwentyLines() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory.appending(path: "web"))
            let store = ImageStore(root: directory.appending(path: "images"))
            let baker = ImageBaker(store: store)
            let failing = recipe(context: context, build: ["true", "i=1; while [ $i -le 30 ]; do echo line $i; i=$((i+1)); done; exit 3"])

            let error = try await #require(throws: PyreError.self) { try await baker.bake(failing) }

            #expect(error.code == .bake)
            #expect(error.message.contains("image 'web': build step 2 of 2"))
            #expect(error.message.contains("failed with exit code 3"))
            let quoted = error.message.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  | ") }
            #expect(quoted == (11...30).map { "  | line \($0)" })
            #expect(store.image(for: try baker.digest(of: failing)) == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: store.root.path).isEmpty)
        }
    }

    @Test func stepTimeoutKillsTheWholeProcessGroup() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory.appending(path: "web"))
            let pidFile = directory.appending(path: "sleeper.pid")
            let baker = ImageBaker(store: ImageStore(root: directory.appending(path: "images")))
            let slow = recipe(context: context, build: ["echo waiting; sleep 30 & echo $! > '\(pidFile.path)'; wait"],
                              buildTimeout: .milliseconds(500))

            let error = try await #require(throws: PyreError.self) { try await baker.bake(slow) }

            #expect(error.message.contains("timed out after 500ms"))
            #expect(error.message.contains("| waiting"))
            let sleeper = try #require(pid_t(String(contentsOf: pidFile, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            // SIGKILL was sent before bake returned; give the kernel a moment to finish it.
            for _ in 0..<100 where isRunning(sleeper) { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!isRunning(sleeper))
        }
    }

    @Test func imageIsReadOnlyAndMatchesItsContentDigest() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory.appending(path: "web"))
            let baker = ImageBaker(store: ImageStore(root: directory.appending(path: "images")))
            let image = try await baker.bake(recipe(context: context, build: ["mkdir -p out && echo built > out/result"]))

            var modes: [String: mode_t] = [:]
            try FileTree.walk(image.root.path) { entry in
                if entry.kind != .symlink { modes[entry.relativePath] = entry.mode }
            }
            #expect(modes.keys.sorted() == ["app.sh", "lib", "lib/data.txt", "out", "out/result"])
            for (path, mode) in modes { #expect(mode & 0o222 == 0, "\(path) is writable") }
            #expect(mode(of: image.root) & 0o222 == 0)
            #expect(mode(of: image.root.deletingLastPathComponent()) & 0o222 == 0)
            #expect(mode(of: image.root.deletingLastPathComponent().appending(path: "image.json")) == 0o444)

            #expect(try treeDigest(of: image.root) == image.contentDigest)
            let result = image.root.appending(path: "out/result")
            #expect(chmod(result.path, 0o644) == 0)
            try Data("tampered\n".utf8).write(to: result)
            #expect(try treeDigest(of: image.root) != image.contentDigest)
        }
    }

    @Test func concurrentBakesOfTheSameDigestLeaveOneImage() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory.appending(path: "web"))
            let store = ImageStore(root: directory.appending(path: "images"))
            let counter = directory.appending(path: "runs")
            let web = recipe(context: context, build: ["echo run >> '\(counter.path)'; sleep 0.3; date +%N > stamp"])

            async let first = ImageBaker(store: store).bake(web)
            async let second = ImageBaker(store: store).bake(web)
            let images = try await [first, second]

            // Both ran: the second rename found the first image and gave way to it.
            #expect(try String(contentsOf: counter, encoding: .utf8) == "run\nrun\n")
            #expect(images[0] == images[1])
            #expect(try FileManager.default.contentsOfDirectory(atPath: store.root.path) == [images[0].digest.hex!])
            #expect(try treeDigest(of: images[0].root) == images[0].contentDigest)
        }
    }

    @Test func pruneRemovesReadOnlyImagesNotKept() async throws {
        try await withTemporaryDirectory { directory in
            let store = ImageStore(root: directory.appending(path: "images"))
            let baker = ImageBaker(store: store)
            let context = try makeContext(in: directory.appending(path: "web"))
            let kept = try await baker.bake(recipe(context: context))
            let dropped = try await baker.bake(recipe(context: context, build: ["mkdir sub"]))

            try store.prune(keeping: [kept.digest])

            #expect(store.image(for: kept.digest) == kept)
            #expect(store.image(for: dropped.digest) == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: store.root.path) == [kept.digest.hex!])
        }
    }

    @Test func malformedDigestsAreNeverLookedUp() {
        let store = ImageStore(root: URL(filePath: "/"))
        #expect(store.image(for: ImageDigest("sha256:../../etc")) == nil)
        #expect(store.image(for: ImageDigest("md5:abc")) == nil)
    }
}
