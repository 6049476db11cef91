import Foundation
import Logging
import PyreAPI
import PyreAWS
import PyreCore
import PyreImages
import Synchronization

/// The AWS half of `pyre bake`: each image's AMI, tagged (`ami:`) or made from its
/// whole-server image, with the upload's progress on standard error.
enum AMIBakeCommand {
    static func run(_ spec: SystemSpec, images: [BakedImage], state: StateDirectory, keepDisks: Bool) async throws {
        let work = state.amiBakes
        var requests: [AWSSystem.BakeRequest] = []
        for image in images {
            var makeDisk: (@Sendable (URL) async throws -> Void)?
            if image.isWholeServer {
                makeDisk = { @Sendable file in
                    Terminal.writeLine("\(image.name)  making its bootable disk (GPT, EFI system partition, ext4 root)")
                    let layout = try await BootableDisk.build(image, of: spec, into: file, work: work)
                    Terminal.writeLine("\(image.name)  disk of \(layout.bytes >> 30) GiB at \(file.path)")
                }
            }
            requests.append(AWSSystem.BakeRequest(name: image.name, digest: image.digest, makeDisk: makeDisk))
        }
        let printer = UploadProgressPrinter()
        let results = try await AWSSystem.bake(spec, images: requests, baked: BakedAMIs(file: state.bakedAMIsFile),
                                               workDirectory: work, keepDisks: keepDisks,
                                               logger: Logger(label: "pyre")) { name, progress in
            printer.show(name, progress)
        }
        for image in images {
            guard let result = results[image.name] else { continue }
            switch result {
            case .tagged(let ami): print("\(image.name)  \(ami)  tagged pyre:image=\(image.digest)")
            case .made(.found(let ami)): print("\(image.name)  \(ami)  already baked from \(image.digest.short): nothing uploaded")
            case .made(.registered(let ami, let snapshot)):
                print("\(image.name)  \(ami)  registered from snapshot \(snapshot), tagged pyre:image=\(image.digest)")
                if keepDisks { print("\(image.name)  disk kept at \(AMIBake.diskFile(name: image.name, digest: image.digest, in: work).path)") }
            }
        }
    }
}

/// Blocks uploaded out of the total, MB/s and the time left, at most once a second (and at the end).
final class UploadProgressPrinter: Sendable {
    private let lastShown = Mutex<ContinuousClock.Instant?>(nil)

    func show(_ name: String, _ progress: SnapshotUpload.Progress) {
        let now = ContinuousClock.now
        let finished = progress.blocksDone == progress.blocksTotal
        let due = lastShown.withLock { last in
            guard finished || last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        let seconds = max(progress.elapsed.timeInterval, 0.001)
        let rate = Double(progress.bytesSent) / seconds / 1e6
        let sent = progress.blocksDone - progress.blocksResumed
        let left = progress.blocksTotal - progress.blocksDone
        let eta = sent > 0 ? Double(left) * seconds / Double(sent) : 0
        let resumed = progress.blocksResumed > 0 ? ", \(progress.blocksResumed) resumed from an interrupted upload" : ""
        let line = String(format: "%@  snapshot: %d/%d blocks, %.1f MB/s, ETA %.0fs%@", name, progress.blocksDone,
                          progress.blocksTotal, rate, eta, resumed)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
