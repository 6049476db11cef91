import Foundation
import PyreAPI
import PyreCore
import PyreDeploy
import PyreManifest

/// Going back: deploying a release the journal recorded (automatic and `pyre rollback`),
/// and carrying on with one whose canaries passed (`pyre promote`).
extension Agent {
    /// `pyre rollback`: deploys the release of deployment `number`, or with nil the one
    /// before the current release (the current one, when canaries of a newer one wait for
    /// `pyre promote`), through the ordinary gated rollout.
    public func rollback(to number: Int?, progress: @escaping ProgressSink) async throws -> DeploymentRecord {
        try await checkCanDeploy()
        deploying = true
        defer { deploying = false }
        return try await restore(try await rollbackTarget(number), rollingBack: nil, progress: progress)
    }

    /// What `pyre rollback` would do now (`pyre plan --rollback`).
    public func rollbackPlan(to number: Int?) async throws -> (target: Int, plan: Plan) {
        let target = try await rollbackTarget(number)
        return (target.number, try await reconciler.plan(try restoredServices(target).services))
    }

    /// `pyre promote`: the rest of the rollout of the deployment whose canaries passed.
    public func promote(progress: @escaping ProgressSink) async throws -> DeploymentRecord {
        try await checkCanDeploy()
        deploying = true
        defer { deploying = false }
        let state = await reconciler.state
        guard let paused = state.deployments.last(where: { state.releases[$0.number] != nil }),
              paused.outcome == .paused, let release = state.releases[paused.number] else {
            throw PyreError(.deploy, "no deployment waits for `pyre promote`: `pyre deploy --canary-only` stops once "
                + "its canaries passed their watch, and a later deploy or rollback replaces them (`pyre history` shows them)")
        }
        let (spec, wanted) = try restoredServices((paused.number, release))
        return try await rollOutAndSettle(wanted, of: spec, trigger: .promote,
                                          release: Release(manifest: release.manifest, images: release.images),
                                          options: RolloutOptions(canary: .skip), progress: progress)
    }

    /// Self-healing found the current release crash-looping and failed it: roll it back.
    func rollBackCrashLoopingRelease(progress: @escaping ProgressSink) async {
        let state = await reconciler.state
        guard let current = state.currentRelease, let previous = state.previousRelease,
              let record = state.deployments.last(where: { $0.number == current.number }), record.releaseFailed,
              (try? await checkCanDeploy()) != nil else { return }
        deploying = true
        defer { deploying = false }
        _ = await rollBack(record, to: previous, progress: progress)
    }

    /// After `failed` failed its canary or watch: deploys `target` again, and says so in the
    /// history. Returns the failed deployment's record; a rollback that cannot run leaves it
    /// failed and says why.
    func rollBack(_ failed: DeploymentRecord, to target: (number: Int, release: Release),
                  progress: @escaping ProgressSink) async -> DeploymentRecord {
        progress(.rollingBack(deployment: failed.number, restoring: target.number,
                              reason: failed.reason ?? "its servers keep dying right after it rolled out (a crash loop)"))
        do {
            _ = try await restore(target, rollingBack: failed.number, progress: progress)
        } catch {
            progress(.notice(message: "could not roll deployment #\(failed.number) back: \(describe(error))"))
        }
        return await reconciler.state.deployments.last { $0.number == failed.number } ?? failed
    }

    /// Deploys a recorded release, gates only; `rollingBack` names the failed deployment it undoes.
    func restore(_ target: (number: Int, release: Release), rollingBack: Int?,
                 progress: @escaping ProgressSink) async throws -> DeploymentRecord {
        let (spec, wanted) = try restoredServices(target)
        var release = target.release
        release.origin = target.number
        let record = try await roll(out: wanted, of: spec, trigger: .rollback, release: release, options: .gatesOnly,
                                    rollingBack: rollingBack, progress: progress)
        if record.outcome == .completed {
            desired = wanted
            stopped = false
        }
        return record
    }

    private func rollbackTarget(_ number: Int?) async throws -> (number: Int, release: Release) {
        let state = await reconciler.state
        if let number {
            guard let record = state.deployments.last(where: { $0.number == number }) else {
                throw PyreError(.notFound, "there is no deployment #\(number); `pyre history` lists them")
            }
            guard record.outcome == .completed, let release = state.releases[number] else {
                throw PyreError(.deploy, "deployment #\(number) cannot be restored: "
                    + (record.outcome != .completed ? "it did not complete (it \(record.outcome.rawValue))"
                        : "it recorded no release (a \(record.trigger.rawValue) deployment, or one older than release records)")
                    + "; `pyre history` shows the completed ones")
            }
            return (number, release)
        }
        if let last = state.deployments.last(where: { state.releases[$0.number] != nil }), last.outcome == .paused,
           let current = state.currentRelease {
            return current
        }
        guard let previous = state.previousRelease else {
            throw PyreError(.deploy, "there is no earlier release to roll back to: no completed deployment before the "
                + "current one rolled out anything else (`pyre history` lists them)")
        }
        return previous
    }

    /// The services a recorded release declares, with the images it baked. Nothing is baked:
    /// a release whose images are gone can no longer be restored.
    func restoredServices(_ target: (number: Int, release: Release)) throws
        -> (spec: SystemSpec, services: [DesiredService]) {
        let number = target.number
        let spec: SystemSpec
        do {
            spec = try Manifest.parse(target.release.manifest, file: "pyre.yml of deployment #\(number)",
                                      directory: configuration.systemDirectory)
            try checkRuntimeUnchanged(spec)
            try backend.validate(spec)
        } catch {
            throw PyreError(.deploy, "deployment #\(number) cannot be restored by this agent: \(describe(error))")
        }
        for recipe in spec.imagesInUse where target.release.images[recipe.name] == nil {
            throw PyreError(.deploy, "deployment #\(number) cannot be restored: its release records no image '\(recipe.name)'")
        }
        let services = try desiredServices(spec, images: target.release.images.filter { spec.image(named: $0.key) != nil }) {
            recipe, digest in
            guard let image = images.image(for: digest) else {
                throw PyreError(.deploy, "deployment #\(number) cannot be restored: its image '\(recipe.name)' "
                    + "(\(digest.short)) is no longer kept (the agent keeps the images of the last "
                    + "\(configuration.keptDeployments) releases); roll back to a newer one, or deploy its pyre.yml again")
            }
            return try backend.imageLocation(of: recipe, digest: digest, bakedAt: image.root)
        }
        return (spec, services)
    }
}
