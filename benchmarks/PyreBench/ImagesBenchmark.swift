import Foundation
import Logging
import PyreCore
import PyreHealth
import PyreImages
import PyreLocal
import PyrePOSIX

/// Whole-server images against their peers, side by side in one run: a cold bake of a
/// Debian base against plain mmdebstrap of the same packages, a warm bake after an app edit
/// against copying the app, the disk two images on one base take, and a rebake from scratch
/// (`bake --check`) of the same recipe.
enum ImagesBenchmark {
    static let suite = "bookworm"
    static let packages = ["python3"]

    static func run(rounds: Int) async throws {
        let work = FileManager.default.temporaryDirectory.appending(path: "pyre-bench-images-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileTree.remove(work.path) }
        let app = try makeApp(in: work, megabytes: 10)
        func recipe(_ name: String = "web", context: URL = app) -> ImageRecipe {
            ImageRecipe(name: name, context: context, run: ["python3", "server.py"],
                        base: .debian(suite: suite, packages: packages, mirror: nil), lockFile: work.appending(path: "pyre.lock"))
        }

        print("whole-server images: Debian \(suite) + \(packages.joined(separator: ", ")), \(rounds) rounds, medians")
        var pyre: [Double] = [], plain: [Double] = []
        for round in 1...rounds {
            let layers = work.appending(path: "cold-\(round)")
            try? FileManager.default.removeItem(at: work.appending(path: "pyre.lock"))
            let baker = ImageBaker(store: ImageStore(root: layers.appending(path: "images")),
                                   layers: LayerStore(root: layers.appending(path: "layers")))
            pyre.append(try await seconds { _ = try await baker.bake(recipe()) })
            let target = work.appending(path: "mmdebstrap-\(round)")
            plain.append(try await seconds { try mmdebstrap(into: target) })
            try FileTree.remove(target.path)
            if round < rounds { try FileTree.remove(layers.path) }
        }
        report("cold bake (empty cache)", pyre, plain, names: ("pyre", "plain mmdebstrap"), target: "≤ 1.1×",
               met: median(pyre) <= 1.1 * median(plain))
        let cache = work.appending(path: "cold-\(rounds)")
        let baker = ImageBaker(store: ImageStore(root: cache.appending(path: "images")), layers: LayerStore(root: cache.appending(path: "layers")))

        var warm: [Double] = [], copy: [Double] = []
        for round in 1...rounds {
            try "edit \(round)\n".write(to: app.appending(path: "server.py"), atomically: true, encoding: .utf8)
            warm.append(try await seconds { _ = try await baker.bake(recipe()) })
            let target = work.appending(path: "copy-\(round)")
            copy.append(try await seconds { try FileTree.copy(app.path, to: target.path) })
        }
        print(String(format: "  warm bake after an app edit (10 MB app): %.3f s (spread %.3f–%.3f); copying the app: %.3f s; target < 1 s: %@",
                     median(warm), warm.min()!, warm.max()!, median(copy), median(warm) < 1 ? "met" : "MISSED"))

        let other = try makeApp(in: work.appending(path: "other"), megabytes: 1)
        let first = try await baker.bake(recipe())
        let second = try await baker.bake(recipe("admin", context: other))
        let base = try require(LayerStore(root: cache.appending(path: "layers")).layer(for: first.layers[0]))
        let rootBytes = try apparentBytes(first.root)
        let total = try diskBytes([cache.appending(path: "layers"), first.root, second.root])
        print(String(format: "  disk: base layer %.1f MB; each image's root %.1f MB as files; layers + both images on disk %.1f MB "
                     + "(the base counted once: %@)", Double(base.bytes) / 1e6, Double(rootBytes) / 1e6, Double(total) / 1e6,
                     Double(total) < Double(base.bytes) * 1.5 ? "yes" : "NO"))

        let check = ImageBaker(store: ImageStore(root: work.appending(path: "check/images")),
                               layers: LayerStore(root: work.appending(path: "check/layers")))
        var again: BakedImage?
        let checkSeconds = try await seconds { again = try await check.bake(recipe()) }
        print(String(format: "  bake --check (from scratch, with the lock): %.1f s, same root digest: %@", checkSeconds,
                     again?.contentDigest == first.contentDigest ? "yes (\(first.contentDigest.short))" : "NO"))
    }

    /// Plain mmdebstrap of the same package set, into a directory, with the same mirrors.
    static func mmdebstrap(into target: URL) throws {
        let arguments = ["mmdebstrap", "--mode=root", "--format=directory", "--variant=minbase", "--quiet",
                         "--include=\(packages.joined(separator: ","))", suite, target.path] + BaseMaker.mirrors(for: suite, given: nil)
        let (status, output) = try ProcessSpawner.run(arguments)
        guard status == 0 else { throw PyreError(.bake, "mmdebstrap failed: \(output)") }
    }

    /// A server script and `megabytes` of data files beside it.
    static func makeApp(in directory: URL, megabytes: Int) throws -> URL {
        let app = directory.appending(path: "app")
        try FileManager.default.createDirectory(at: app.appending(path: "data"), withIntermediateDirectories: true)
        try "print('v1')\n".write(to: app.appending(path: "server.py"), atomically: true, encoding: .utf8)
        var generator = SystemRandomNumberGenerator()
        for index in 0..<(megabytes * 10) {
            let bytes = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data(bytes).write(to: app.appending(path: "data/blob-\(index)"))
        }
        return app
    }

    static func seconds(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        return (ContinuousClock.now - start).timeInterval
    }

    static func report(_ what: String, _ pyre: [Double], _ peer: [Double], names: (String, String) = ("Pyre", "peer"),
                       target: String, met: Bool) {
        print(String(format: "  %@: %@ %.2f s (spread %.2f–%.2f), %@ %.2f s (spread %.2f–%.2f), ratio %.2f×; target %@: %@",
                     what, names.0, median(pyre), pyre.min()!, pyre.max()!, names.1, median(peer), peer.min()!, peer.max()!,
                     median(pyre) / median(peer), target, met ? "met" : "MISSED"))
    }

    /// Bytes of the files below `directory`, each link counted.
    static func apparentBytes(_ directory: URL) throws -> Int64 {
        let (status, output) = try ProcessSpawner.run(["du", "-s", "--apparent-size", "--block-size=1", "--count-links", directory.path])
        guard status == 0, let bytes = Int64(output.split(separator: "\t").first ?? "") else { throw PyreError(.bake, "du: \(output)") }
        return bytes
    }

    /// Disk used by all of `directories` together, each file counted once.
    static func diskBytes(_ directories: [URL]) throws -> Int64 {
        let (status, output) = try ProcessSpawner.run(["du", "-s", "-c", "--block-size=1"] + directories.map(\.path))
        guard status == 0, let total = output.split(separator: "\n").last?.split(separator: "\t").first.flatMap({ Int64($0) }) else {
            throw PyreError(.bake, "du: \(output)")
        }
        return total
    }
}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw PyreError(.bake, "a layer the benchmark just made is missing") }
    return value
}

/// Starting servers of a whole-server image against servers of a host-OS image of the same
/// app, in namespace mode: all created at once, until every one answers its health check.
extension ImagesBenchmark {
    static func startup(servers: Int, rounds: Int) async throws {
        let work = FileManager.default.temporaryDirectory.appending(path: "pyre-bench-start-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileTree.remove(work.path) }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let context = work.appending(path: "app")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        try LocalBenchmark.serverScript.write(to: context.appending(path: "server.py"), atomically: true, encoding: .utf8)
        let baker = ImageBaker(store: ImageStore(root: work.appending(path: "images")), logger: logger)
        let command = ["python3", "-S", "-I", "server.py"]
        let hostOS = try await baker.bake(ImageRecipe(name: "host", context: context, run: LocalBenchmark.command))
        let whole = try await baker.bake(ImageRecipe(name: "whole", context: context, run: command,
                                                     base: .debian(suite: suite, packages: packages, mirror: nil),
                                                     lockFile: work.appending(path: "pyre.lock")))
        var configuration = LocalProviderConfiguration(system: "benchws", serversDirectory: work.appending(path: "servers"),
                                                       isolation: .namespaces)
        configuration.subnet = "10.213.241.0/24"
        let provider = try LocalProvider(configuration: configuration, logger: logger)
        try await provider.prepare()
        defer { Task { try? await provider.teardown() } }
        var hostTimes: [Double] = [], wholeTimes: [Double] = [], hostMemory: [Double] = [], wholeMemory: [Double] = []
        let wholeLocation = ImageLocation.root(ImageRoot(directory: whole.root, workdir: "/app", tmpfsBytes: ImageRecipe.defaultTmpfsBytes))
        for round in 1...rounds {
            let host = try await startAll(servers, image: hostOS, location: .directory(hostOS.root), round: round,
                                          command: LocalBenchmark.command, provider: provider)
            hostTimes.append(host.seconds)
            hostMemory.append(host.kilobytes)
            let wholeServer = try await startAll(servers, image: whole, location: wholeLocation, round: round, command: command,
                                                 provider: provider)
            wholeTimes.append(wholeServer.seconds)
            wholeMemory.append(wholeServer.kilobytes)
        }
        try await provider.teardown()
        print("starting \(servers) servers at once, namespace mode, until all are healthy (\(rounds) rounds, medians)")
        report("time to all healthy", wholeTimes, hostTimes, names: ("whole-server", "host-OS"), target: "≤ 1.2×",
               met: median(wholeTimes) <= 1.2 * median(hostTimes))
        print(String(format: "  memory per server (resident, every process of the server): whole-server %.0f kB, host-OS %.0f kB",
                     median(wholeMemory), median(hostMemory)))
    }

    /// Creates `count` servers at once and waits until all are healthy; returns the time and
    /// the mean resident memory per server, then destroys them.
    static func startAll(_ count: Int, image: BakedImage, location: ImageLocation, round: Int, command: [String],
                         provider: LocalProvider) async throws -> (seconds: Double, kilobytes: Double) {
        let checker = NetworkHealthChecker()
        let health = LocalBenchmark.health
        let start = ContinuousClock.now
        let ids = try await withThrowingTaskGroup(of: ServerID.self) { group in
            for index in 0..<count {
                group.addTask {
                    let id = ServerID.make(service: "s\(round)\(image.isWholeServer ? "w" : "h")", generation: Generation(index + 1))
                    let info = try await provider.create(ServerSpec(
                        id: id, system: "benchws", service: "web", generation: Generation(index + 1), image: image.digest,
                        imageLocation: location, command: command, env: [:], port: 8080, configHash: "bench", zone: "benchws.pyre."))
                    while case .fail = await checker.check(address: info.address, port: info.port, spec: health) {
                        try await Task.sleep(for: health.interval)
                    }
                    return id
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let seconds = (ContinuousClock.now - start).timeInterval
        let kilobytes = ids.map { residentKilobytes(of: $0) }.reduce(0, +) / Double(count)
        for id in ids { try await provider.destroy(id) }
        return (seconds, kilobytes)
    }

    /// VmRSS of every process carrying the server's `PYRE_SERVER` mark.
    static func residentKilobytes(of id: ServerID) -> Double {
        let mark = Array("PYRE_SERVER=\(id.rawValue)".utf8)
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int($0) != nil }
        return pids.reduce(0) { total, pid in
            guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  environment.split(separator: 0).contains(where: { Array($0) == mark }),
                  let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                  let value = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return total }
            return total + value
        }
    }
}
