import Foundation
import PyreCore

/// A check of ``ProviderConformance`` that a provider failed.
public struct ProviderConformanceFailure: Error, CustomStringConvertible {
    /// Name of the check, such as `destroyTwice`.
    public let check: String
    public let message: String

    public var description: String { "provider conformance check \(check) failed: \(message)" }
}

/// The behaviour every `ServerProvider` must have, as checks that throw
/// ``ProviderConformanceFailure`` (this target does not depend on a test framework).
///
/// `makeSpec` must give specs whose command keeps running until destroyed. Every check
/// destroys the servers it created, also when it fails.
public enum ProviderConformance {
    public typealias MakeProvider = @Sendable () async throws -> any ServerProvider
    public typealias MakeSpec = @Sendable (ServerID) -> ServerSpec

    /// Runs every check. `makeProvider` is called once for the main checks and, when
    /// `persistsAcrossInstances`, again to stand for the provider of a restarted agent.
    public static func run(makeProvider: MakeProvider, makeSpec: MakeSpec,
                           persistsAcrossInstances: Bool = true) async throws {
        let provider = try await makeProvider()
        try await checkCreateInspectList(provider, makeSpec: makeSpec)
        try await checkDestroy(provider, makeSpec: makeSpec)
        try await checkDestroyTwice(provider, makeSpec: makeSpec)
        try await checkDestroyUnknown(provider)
        try await checkIdsAreNeverReused(provider, makeSpec: makeSpec)
        try await checkServersAreIndependent(provider, makeSpec: makeSpec)
        if persistsAcrossInstances {
            try await checkListAfterRestart(first: provider, makeProvider: makeProvider, makeSpec: makeSpec)
        }
    }

    /// create returns the spec's server, running; inspect and list report it the same way.
    public static func checkCreateInspectList(_ provider: any ServerProvider, makeSpec: MakeSpec) async throws {
        let check = "createInspectList"
        let spec = makeSpec(freshID(generation: 1))
        try await withServers([spec], on: provider, check: check) { created in
            let id = created[0].id
            try describes(created[0], spec, provider: provider, check: check, source: "create")
            guard let inspected = try await provider.inspect(id) else {
                throw failure(check, "inspect(\(id)) returned nil right after create")
            }
            try describes(inspected, spec, id: id, check: check, source: "inspect")
            try expect(inspected.address == created[0].address, check,
                       "inspect reports address \(inspected.address), create reported \(created[0].address)")
            let listed = try await provider.list().filter { $0.id == id }
            try expect(listed.count == 1, check, "list() contains \(id) \(listed.count) times, expected once")
            try describes(listed[0], spec, id: id, check: check, source: "list")
        }
    }

    /// After destroy, inspect returns nil and list lacks the server.
    public static func checkDestroy(_ provider: any ServerProvider, makeSpec: MakeSpec) async throws {
        let check = "destroy"
        let spec = makeSpec(freshID(generation: 2))
        try await withServers([spec], on: provider, check: check) { created in
            try await provider.destroy(created[0].id)
            try await expectGone(created[0].id, from: provider, check: check)
        }
    }

    /// Destroying a server a second time succeeds.
    public static func checkDestroyTwice(_ provider: any ServerProvider, makeSpec: MakeSpec) async throws {
        let check = "destroyTwice"
        let spec = makeSpec(freshID(generation: 3))
        try await withServers([spec], on: provider, check: check) { created in
            let id = created[0].id
            try await provider.destroy(id)
            do { try await provider.destroy(id) } catch {
                throw failure(check, "second destroy(\(id)) threw \(error); it must succeed")
            }
            try await expectGone(id, from: provider, check: check)
        }
    }

    /// Destroying an id the provider never saw succeeds; inspecting it returns nil.
    public static func checkDestroyUnknown(_ provider: any ServerProvider) async throws {
        let check = "destroyUnknown"
        let id = freshID(generation: 4)
        do { try await provider.destroy(id) } catch {
            throw failure(check, "destroy(\(id)) of an unknown server threw \(error); it must succeed")
        }
        try await expectGone(id, from: provider, check: check)
    }

    /// Creating a server whose id is running already fails and leaves the first one running.
    /// A provider that names its servers itself (``ServerProvider/createsInBatches``) never
    /// takes an id from a spec, so there is nothing to reuse.
    public static func checkIdsAreNeverReused(_ provider: any ServerProvider, makeSpec: MakeSpec) async throws {
        guard !provider.createsInBatches else { return }
        let check = "idsAreNeverReused"
        let spec = makeSpec(freshID(generation: 5))
        try await withServers([spec], on: provider, check: check) { created in
            if let duplicate = try? await provider.create(spec) {
                throw failure(check, "a second create(\(spec.id)) succeeded (address \(duplicate.address)); it must throw")
            }
            let info = try await provider.inspect(spec.id)
            try expect(info?.state == .running, check,
                       "after the refused duplicate, \(spec.id) is \(String(describing: info?.state)), expected running")
            try expect(info?.address == created[0].address, check, "the refused duplicate changed the server's address")
        }
    }

    /// Two servers get distinct addresses, both are listed, and destroying one leaves the other running.
    public static func checkServersAreIndependent(_ provider: any ServerProvider, makeSpec: MakeSpec) async throws {
        let check = "serversAreIndependent"
        let specs = [makeSpec(freshID(generation: 6)), makeSpec(freshID(generation: 6))]
        try await withServers(specs, on: provider, check: check) { created in
            let ids = created.map(\.id)
            try expect(created[0].address != created[1].address, check,
                       "two live servers share address \(created[0].address)")
            let listed = Set(try await provider.list().map(\.id))
            try expect(listed.isSuperset(of: ids), check, "list() lacks one of \(ids)")
            try await provider.destroy(ids[0])
            let survivor = try await provider.inspect(ids[1])
            try expect(survivor?.state == .running, check,
                       "destroying \(ids[0]) left \(ids[1]) \(String(describing: survivor?.state)), expected running")
        }
    }

    /// A second provider instance (the provider of a restarted agent) lists, inspects and
    /// destroys a server the first one created.
    public static func checkListAfterRestart(first: any ServerProvider, makeProvider: MakeProvider,
                                             makeSpec: MakeSpec) async throws {
        let check = "listAfterRestart"
        let spec = makeSpec(freshID(generation: 7))
        try await withServers([spec], on: first, check: check) { created in
            let id = created[0].id
            let second = try await makeProvider()
            let listed = try await second.list().filter { $0.id == id }
            try expect(listed.count == 1, check, "a new provider instance does not list \(id), created by the first")
            try describes(listed[0], spec, id: id, check: check, source: "list after restart")
            guard let inspected = try await second.inspect(id) else {
                throw failure(check, "a new provider instance's inspect(\(id)) returned nil")
            }
            try describes(inspected, spec, id: id, check: check, source: "inspect after restart")
            try await second.destroy(id)
            try await expectGone(id, from: second, check: check)
            try await expectGone(id, from: first, check: check)
        }
    }

    // MARK: - Helpers

    private static func freshID(generation: Generation) -> ServerID {
        ServerID.make(service: "conform", generation: generation)
    }

    /// Creates the servers, runs `body`, and destroys them afterwards whatever happened.
    private static func withServers(_ specs: [ServerSpec], on provider: any ServerProvider, check: String,
                                    _ body: ([ServerInfo]) async throws -> Void) async throws {
        var created: [ServerInfo] = []
        do {
            for spec in specs {
                do { created.append(try await provider.create(spec)) } catch {
                    throw failure(check, "create(\(spec.id)) threw \(error)")
                }
            }
            try await body(created)
        } catch {
            for server in created { try? await provider.destroy(server.id) }
            throw error
        }
        for server in created {
            do { try await provider.destroy(server.id) } catch {
                throw failure(check, "destroy(\(server.id)) threw \(error)")
            }
        }
    }

    /// What create returned: the spec's server, with the spec's id unless the provider names servers itself.
    private static func describes(_ info: ServerInfo, _ spec: ServerSpec, provider: any ServerProvider, check: String,
                                  source: String) throws {
        try describes(info, spec, id: provider.createsInBatches ? info.id : spec.id, check: check, source: source)
    }

    private static func describes(_ info: ServerInfo, _ spec: ServerSpec, id: ServerID, check: String, source: String) throws {
        let mismatches = [
            info.id == id ? nil : "id \(info.id) (expected \(id))",
            info.service == spec.service ? nil : "service \(info.service) (expected \(spec.service))",
            info.generation == spec.generation ? nil : "generation \(info.generation) (expected \(spec.generation))",
            info.image == spec.image ? nil : "image \(info.image) (expected \(spec.image))",
            info.configHash == spec.configHash ? nil : "configHash \(info.configHash) (expected \(spec.configHash))",
            info.port == spec.port ? nil : "port \(info.port) (expected \(spec.port))",
            info.state == .running ? nil : "state \(info.state) (expected running)",
            !info.address.isEmpty ? nil : "an empty address",
        ].compactMap { $0 }
        try expect(mismatches.isEmpty, check, "\(source) reports \(mismatches.joined(separator: ", ")) for \(id)")
    }

    private static func expectGone(_ id: ServerID, from provider: any ServerProvider, check: String) async throws {
        if let info = try await provider.inspect(id) {
            throw failure(check, "inspect(\(id)) after destroy returned a server in state \(info.state); expected nil")
        }
        try expect(!(try await provider.list().contains { $0.id == id }), check, "list() still contains \(id) after destroy")
    }

    private static func expect(_ condition: Bool, _ check: String, _ message: @autoclosure () -> String) throws {
        if !condition { throw failure(check, message()) }
    }

    private static func failure(_ check: String, _ message: String) -> ProviderConformanceFailure {
        ProviderConformanceFailure(check: check, message: message)
    }
}
