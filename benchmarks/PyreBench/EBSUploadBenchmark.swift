import Foundation
import Logging
import PyreAWS
import PyreTesting

/// Writing a disk image to an EBS snapshot on moto: Pyre's ``SnapshotUpload`` against boto3's
/// `ebs` client with as many threads (benchmarks/peers/boto3_ebs_upload.py), the same disk, each
/// side on a fresh moto, alternating who goes first. The disk is 1 GiB with `megabytes` of
/// random data in runs, the rest holes, as an image's disk mostly is.
enum EBSUploadBenchmark {
    static let parallelism = ProcessInfo.processInfo.environment["PYRE_BENCH_PARALLELISM"].flatMap { Int($0) } ?? 16

    static func run(megabytes: Int, rounds: Int) async throws {
        let disk = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-bench-disk-\(UUID().uuidString).img")
        defer { try? FileManager.default.removeItem(at: disk) }
        try makeDisk(disk, megabytes: megabytes)
        print("ebs-upload: \(megabytes) MB of data in a 1 GiB disk, \(parallelism) requests at once, \(rounds) rounds, "
            + "each side on a fresh moto, alternating who goes first")
        var pyre = Side(name: "pyre", upload: uploadWithPyre), boto = Side(name: "boto3", upload: uploadWithBoto3)
        for round in 1...rounds {
            if round % 2 == 1 {
                try await pyre.run(round, disk); try await boto.run(round, disk)
            } else {
                try await boto.run(round, disk); try await pyre.run(round, disk)
            }
        }
        let ratio = median(pyre.rates) / median(boto.rates)
        print(String(format: "  median  pyre %.1f MB/s / boto3 %.1f MB/s = %.2fx  (target >= 1.0: %@)", median(pyre.rates),
                     median(boto.rates), ratio, ratio >= 1.0 ? "met" : "MISSED"))
        print(String(format: "  client CPU per MB  pyre %.2f ms / boto3 %.2f ms = %.2fx", median(pyre.cpuPerMB),
                     median(boto.cpuPerMB), median(pyre.cpuPerMB) / median(boto.cpuPerMB)))
    }

    /// One uploader's rounds: MB/s of block data and client CPU milliseconds per MB.
    private struct Side {
        let name: String
        /// Wall seconds, block bytes sent, client CPU seconds.
        let upload: (URL) async throws -> (Double, Int64, Double)
        var rates: [Double] = []
        var cpuPerMB: [Double] = []

        mutating func run(_ round: Int, _ disk: URL) async throws {
            let (seconds, bytes, cpu) = try await upload(disk)
            rates.append(Double(bytes) / seconds / 1e6)
            cpuPerMB.append(cpu / (Double(bytes) / 1e6) * 1e3)
            print(String(format: "  round %d  %@  %6.2f s  %7.1f MB/s  client CPU %5.2f ms/MB", round,
                         name.padding(toLength: 6, withPad: " ", startingAt: 0), seconds, rates.last!, cpuPerMB.last!))
        }
    }

    /// Data in runs of 8 blocks (4 MiB) spread over the disk, holes between.
    private static func makeDisk(_ file: URL, megabytes: Int) throws {
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.truncate(atOffset: 1 << 30)
        let runs = max(1, megabytes / 4)
        var generator = SystemRandomNumberGenerator()
        for run in 0..<runs {
            let bytes = (0..<((4 << 20) / 8)).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
            try handle.seek(toOffset: UInt64(run) * ((1 << 30) / UInt64(runs)))
            try handle.write(contentsOf: bytes)
        }
    }

    /// Wall seconds, block bytes sent and this process's CPU seconds.
    private static func uploadWithPyre(_ disk: URL) async throws -> (Double, Int64, Double) {
        let moto = try await MotoServer.startFresh()
        let ebs = EBSClient(client: AWSClient(configuration: moto.configuration(), logger: Logger(label: "bench")))
        let journal = disk.deletingLastPathComponent().appendingPathComponent("\(disk.lastPathComponent).journal")
        // Each round a new upload: the journal of the last one (complete) would be taken up again.
        try? FileManager.default.removeItem(at: journal)
        defer { try? FileManager.default.removeItem(at: journal) }
        let sent = Recorded()
        let cpu = ProcessUsage.ownCPUSeconds()
        let start = ContinuousClock.now
        _ = try await SnapshotUpload(ebs: ebs, parallelism: parallelism).upload(
            disk: disk, description: "pyre bench", tags: [:], journal: journal) { sent.bytes = $0.bytesSent }
        return ((ContinuousClock.now - start).timeInterval, sent.bytes, ProcessUsage.ownCPUSeconds() - cpu)
    }

    private static func uploadWithBoto3(_ disk: URL) async throws -> (Double, Int64, Double) {
        let moto = try await MotoServer.startFresh()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers/boto3_ebs_upload.py")
        guard let python = ExternalTool.path("python3") else { throw BenchmarkFailure("python3 is not installed") }
        let result = try ExternalTool.run(python, [script.path, "--disk", disk.path, "--threads", String(parallelism)],
                                          environment: moto.environment)
        guard result.status == 0, let line = result.output.split(separator: "\n").last,
              let answer = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let seconds = answer["seconds"] as? Double, let bytes = answer["bytes"] as? Int,
              let cpu = answer["cpu_seconds"] as? Double else {
            throw BenchmarkFailure("the boto3 script failed: \(result.output)")
        }
        return (seconds, Int64(bytes), cpu)
    }

    /// The bytes the last progress report counted.
    private final class Recorded: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int64 = 0
        var bytes: Int64 {
            get { lock.withLock { value } }
            set { lock.withLock { value = max(value, newValue) } }
        }
    }
}
