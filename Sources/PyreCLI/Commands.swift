import ArgumentParser
import Foundation
import Logging
import PyreAPI
import PyreAWS
import PyreCore
import PyreImages
import PyreManifest
import PyreProgress

struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bake what changed and roll out brand-new servers through the running agent.")

    @OptionGroup var options: SystemOptions

    @Flag(help: "Stop once the canaries passed their watch; `pyre promote` carries on.")
    var canaryOnly = false

    @Flag(help: "Skip the canary phase: the whole new fleet at once (the fleet watch still runs).")
    var noCanary = false

    func validate() throws {
        if canaryOnly && noCanary { throw ValidationError("--canary-only and --no-canary contradict each other; pick one") }
    }

    func run() async throws {
        let canary = canaryOnly ? "only" : noCanary ? "skip" : nil
        try await reportingErrors {
            try await streamOperation { try await options.client().deploy(canary: canary, onEvent: $0) }
        }
    }
}

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a deploy would do and why. Exit 0: nothing to do; 2: changes.")

    @OptionGroup var options: SystemOptions

    @Flag(help: "Show what `pyre rollback` would do instead.")
    var rollback = false

    @Option(help: "With --rollback: the deployment whose release to restore.")
    var to: Int?

    func validate() throws {
        if to != nil && !rollback { throw ValidationError("--to goes with --rollback") }
    }

    func run() async throws {
        try await reportingErrors {
            let report = try await options.client().plan(rollback: rollback, to: to)
            print(report.text)
            if report.changes { throw CLIFailure(message: "", code: 2) }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List each service's servers and their health.")

    @OptionGroup var options: SystemOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let report = try await options.client().status()
            if json { return try printJSON(report) }
            print("system \(report.system) (\(report.isolation) isolation)"
                  + (report.runningDeployment.map { ", deploy #\($0) running" } ?? ""))
            for service in report.services {
                let healthy = service.servers.filter { $0.health == .healthy }.count
                var header = "\(service.name): \(healthy)/\(service.count) healthy" + (service.onHostOS ? " (host OS)" : "")
                if service.crashLooping { header += Terminal.paint("  crash-looping (backing off)", 31) }
                print(header)
                for server in service.servers { print("  " + serverLine(server)) }
                if let death = service.lastDeath { print("  last death: \(death)") }
            }
        }
    }
}

struct DNS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the system's DNS zone as its server answers now, in zone-file form.")

    @OptionGroup var options: SystemOptions

    func run() async throws {
        try await reportingErrors {
            let report = try await options.client().dns()
            print("; served at \(report.address) (UDP and TCP)" + (report.listen.map { ", and for the host at \($0)" } ?? ""))
            print(report.zone, terminator: report.zone.hasSuffix("\n") ? "" : "\n")
        }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List deployments, newest last; with a number, that deployment's timeline.")

    @OptionGroup var options: SystemOptions

    @Argument(help: "A deployment number: its timeline (the flight recorder).")
    var deployment: Int?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        // `pyre history 3` in a system's directory: the lone positional is the deployment.
        var options = options
        var deployment = deployment
        if deployment == nil, let number = Int(options.directory),
           !FileManager.default.fileExists(atPath: options.directory) {
            deployment = number
            options.directory = "."
        }
        try await reportingErrors {
            if let deployment {
                let timeline = try await options.client().timeline(of: deployment)
                return try json ? printJSON(timeline) : print(TimelineText.render(timeline), terminator: "")
            }
            let deployments = try await options.client().history()
            if json { return try printJSON(deployments) }
            print("#     started (UTC)         trigger   outcome      created destroyed  duration  services")
            for record in deployments {
                let duration = record.duration.map { String(format: "%.1fs", $0) } ?? "-"
                let started = record.startedAt.formatted(.iso8601.year().month().day().dateTimeSeparator(.space).time(includingFractionalSeconds: false))
                let columns = [
                    "#\(record.number)".padding(toLength: 6, withPad: " ", startingAt: 0),
                    started.padding(toLength: 22, withPad: " ", startingAt: 0),
                    record.trigger.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0),
                    record.outcome.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0),
                    String(record.created.count).padding(toLength: 8, withPad: " ", startingAt: 0),
                    String(record.destroyed.count).padding(toLength: 11, withPad: " ", startingAt: 0),
                    duration.padding(toLength: 10, withPad: " ", startingAt: 0),
                    record.services.joined(separator: ","),
                ]
                print(columns.joined() + (TimelineText.note(on: record).map { "  (\($0))" } ?? ""))
            }
        }
    }
}

struct Bake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bake every image of the system into the content-addressed image store (no agent needed); on provider aws, also each image's AMI.")

    @OptionGroup var options: SystemOptions

    @Flag(help: "Resolve debian: bases' packages again and write the versions to pyre.lock.")
    var update = false

    @Flag(help: "Then bake each image again from scratch, without the layer cache, and fail if its root differs.")
    var check = false

    @Flag(help: "Also print the image store's log records (info and above).")
    var verbose = false

    @Flag(help: "provider: aws: keep each whole-server image's bootable disk after uploading it (to inspect it, or boot it in a VM).")
    var keepDisk = false

    func run() async throws {
        try await reportingErrors(logLevel: verbose ? .info : .warning) {
            let spec = try Manifest.load(directory: options.systemURL)
            let state = options.state
            try state.create()
            if spec.provider == .aws { for recipe in spec.images { try AWSSystem.checkBootable(recipe) } }
            let baker = ImageBaker(store: ImageStore(root: state.images), updateLock: update)
            var baked: [BakedImage] = []
            for recipe in spec.images {
                let image = try await baker.bake(recipe) { event in Terminal.progress(ProgressEvent(event)) }
                baked.append(image)
                print("\(recipe.name)  \(image.digest)" + (image.isWholeServer ? "  root \(image.contentDigest)" : "  host OS"))
                if check { try await BakeCheck(state: state).run(recipe, against: image) }
            }
            if spec.provider == .aws { try await AMIBakeCommand.run(spec, images: baked, state: state, keepDisks: keepDisk) }
        }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash each server's view of its image; report drift (exit 1), or replace drifted servers.")

    @OptionGroup var options: SystemOptions

    @Flag(help: "Replace drifted servers with new ones through a normal rollout.")
    var replace = false

    func run() async throws {
        try await reportingErrors {
            try await streamOperation { try await options.client().verify(replace: replace, onEvent: $0) }
        }
    }
}

struct Destroy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Destroy every server of the system; persistent data (events, history) is kept.")

    @OptionGroup var options: SystemOptions

    func run() async throws {
        try await reportingErrors { try await streamOperation { try await options.client().destroy(onEvent: $0) } }
    }
}

/// `--json` output: one document, keys sorted, dates in ISO 8601 with milliseconds.
func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try JSONEncoder.pyre.encode(value), as: UTF8.self))
}
