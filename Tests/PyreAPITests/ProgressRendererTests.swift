import Foundation
import PyreCore
import Testing
@testable import PyreAPI

/// The words people read for each progress event: the integration tests grep them in the
/// CLI's output, so they are pinned here, case by case.
struct ProgressRendererTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    static let files = "sha256:" + String(repeating: "cd", count: 32)
    static let server = StatusReport.Server(id: "web-1-0a1b", generation: 1, image: digest, address: "127.0.0.2",
                                            port: 8080, health: .healthy, published: true, createdAt: Date(timeIntervalSince1970: 0))

    static let table: [(ProgressEvent, String?)] = [
        (.bakeStarted(image: "web", step: 1, steps: 2, command: "make"), "bake web: step 1/2: make"),
        (.bakeOutput(image: "web", line: "compiling"), "  │ compiling"),
        (.bakeFinished(image: "web", step: 1, seconds: 0.31), "bake web: step 1 done in 0.3s"),
        (.bakeCached(image: "web", digest: digest), "bake web: cached abababababab"),
        (.planned(plan: "web: 3 servers\n  create 3"), "web: 3 servers\n  create 3"),
        (.creating(server: "web-2-0a1b"), "  web-2-0a1b  creating"),
        (.created(server: "web-2-0a1b"), "  web-2-0a1b  created"),
        (.healthy(server: "web-2-0a1b", seconds: 1.26), "  web-2-0a1b  healthy after 1.3s"),
        (.gating(server: "web-2-0a1b", seconds: 10.4, probes: 1, passes: 0, lastFailure: nil),
         "  web-2-0a1b  not healthy yet after 10s: 1 probe"),
        (.gating(server: "web-2-0a1b", seconds: 20, probes: 5, passes: 2, lastFailure: "HTTP 503"),
         "  web-2-0a1b  not healthy yet after 20s: 5 probes, the last 2 passed, last failure: HTTP 503"),
        (.published(server: "web-2-0a1b"), "  web-2-0a1b  published"),
        (.retiring(server: "web-1-0a1b"), "  web-1-0a1b  unpublished, draining"),
        (.destroyed(server: "web-1-0a1b", reason: "replaced"), "  web-1-0a1b  destroyed (replaced)"),
        (.failed(server: "web-2-0a1b", reason: "timed out", output: []),
         "web-2-0a1b  failed its health gate: timed out; destroyed"),
        (.failed(server: "web-2-0a1b", reason: "timed out", output: ["boom", "bye"]),
         "web-2-0a1b  failed its health gate: timed out; destroyed\n  last output of web-2-0a1b:\n  │ boom\n  │ bye"),
        (.watching(service: "web", what: "canaries", servers: ["web-2-0a1b"], seconds: 10),
         "watching the canaries of web (web-2-0a1b) for 10s"),
        (.watched(service: "web", what: "fleet", passed: false, detail: "web-2-0a1b exited with status 3"),
         "web: the fleet failed the watch: web-2-0a1b exited with status 3"),
        (.deployPaused(deployment: 3),
         "deploy #3 paused: the canaries passed; `pyre promote` carries on, `pyre rollback` takes them away"),
        (.rollingBack(deployment: 3, restoring: 2, reason: "web: the canaries failed the watch"),
         "rolling deploy #3 back to the release of #2: web: the canaries failed the watch"),
        (.deployCompleted(deployment: 3, seconds: 4.56), "deploy #3 completed in 4.6s"),
        (.deployFailed(deployment: 3, reason: "web-2-0a1b failed"),
         "deploy #3 failed: web-2-0a1b failed; the servers that were serving keep serving"),
        (.removingFailedServers, "removing the failed deploy's servers; the old fleet keeps serving"),
        (.checked(server: "web-1-0a1b", image: digest, files: digest, baked: digest),
         "web-1-0a1b: ok (image abababababab: files hash to abababababab, as baked)"),
        (.checked(server: "web-1-0a1b", image: digest, files: files, baked: digest),
         "web-1-0a1b: drifted (image abababababab: files hash to cdcdcdcdcdcd, baked as abababababab)"),
        (.deployResult(deployment: 3, ok: true), nil),
        (.verifyResult(checked: 3, drifted: 0, replace: false, replaced: false), "3 servers checked, 0 drifted"),
        (.verifyResult(checked: 3, drifted: 1, replace: false, replaced: false), "3 servers checked, 1 drifted"),
        (.verifyResult(checked: 3, drifted: 1, replace: true, replaced: true), "3 servers checked, 1 drifted, replaced"),
        (.verifyResult(checked: 3, drifted: 1, replace: true, replaced: false), "3 servers checked, 1 drifted, NOT replaced"),
        (.destroyResult, "all servers destroyed; persistent data kept"),
        (.operationFailed(message: "manifest: bad"), "manifest: bad"),
        (.notice(message: "events API at http://127.0.0.1:1"), "events API at http://127.0.0.1:1"),
        (.serverReady(server), "  web-1-0a1b         gen 1  127.0.0.2:8080         healthy    abababababab"),
        (.startFailed(message: "bake failed"), "bake failed\nfix it and run `pyre deploy`; the agent keeps running"),
        (.stopping, "stopping: destroying servers, keeping persistent data"),
        (.stopped, "stopped"),
    ]

    @Test(arguments: table.indices)
    func eachEventReadsAsBefore(_ index: Int) throws {
        let (event, text) = Self.table[index]
        #expect(ProgressRenderer(colour: false).render(event) == text)
        // What the agent streams is what the CLI reads back.
        let wire = try JSONEncoder.pyre.encode(event)
        #expect(try JSONDecoder.pyre.decode(ProgressEvent.self, from: wire) == event)
    }

    @Test func colourSaysWhatKindOfLineItIs() {
        let renderer = ProgressRenderer(colour: true)
        #expect(renderer.render(.bakeOutput(image: "web", line: "x")) == "\u{1B}[2m  │ x\u{1B}[0m")
        #expect(renderer.render(.deployFailed(deployment: 1, reason: "r"))?.hasPrefix("\u{1B}[31m") == true)
        #expect(renderer.render(.destroyResult)?.hasPrefix("\u{1B}[32m") == true)
        #expect(renderer.render(.verifyResult(checked: 1, drifted: 1, replace: false, replaced: false))?.hasPrefix("\u{1B}[31m") == true)
        #expect(renderer.render(.creating(server: "web-1-0a1b")) == "  web-1-0a1b  creating")
    }

    @Test func resultsSayHowTheOperationEnded() {
        #expect(Self.table.filter { $0.0.isResult }.map { $0.0.ok } == [true, true, false, true, false, true, false])
        #expect(Self.table.filter { !$0.0.isResult }.allSatisfy { $0.0.ok == nil })
    }

    /// The control API's JSON is snake_case, the event named by its one key.
    @Test func wireFormIsOneKeyNamingTheEvent() throws {
        let event = ProgressEvent.gating(server: "web-2-0a1b", seconds: 2, probes: 3, passes: 1, lastFailure: "refused")
        let text = String(decoding: try JSONEncoder.pyre.encode(event), as: UTF8.self)
        #expect(text == #"{"gating":{"last_failure":"refused","passes":1,"probes":3,"seconds":2,"server":"web-2-0a1b"}}"#)
        let ready = String(decoding: try JSONEncoder.pyre.encode(ProgressEvent.deployResult(deployment: 2, ok: true)), as: UTF8.self)
        #expect(ready == #"{"deploy_result":{"deployment":2,"ok":true}}"#)
    }
}
