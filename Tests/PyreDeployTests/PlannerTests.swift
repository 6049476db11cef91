import Foundation
import PyreCore
import Testing

@Suite struct PlannerTests {
    let now = Date()

    @Test func emptyFleetCreatesCountServers() {
        let plan = Planner.plan(desired: [desired(serviceSpec())], observed: [], now: now)
        let web = plan.services[0]
        #expect(web.create == 3 && web.keep.isEmpty && web.replace.isEmpty && !plan.isEmpty)
        #expect(web.newImage == digest("a") && web.oldImage == nil)
        #expect(plan.render() == "web: 3 servers (host OS)\n  create 3")
    }

    @Test func nothingToDo() {
        let servers = ["web-1-0001", "web-1-0002", "web-1-0003"].map { observed(serverInfo($0)) }
        let plan = Planner.plan(desired: [desired(serviceSpec())], observed: servers, now: now)
        #expect(plan.isEmpty)
        #expect(plan.services[0].keep.count == 3)
        #expect(plan.render() == "web: 3 servers (host OS), up to date")
    }

    @Test func imageChangeReplacesEveryServer() {
        let servers = ["web-1-0001", "web-1-0002", "web-1-0003"].map { observed(serverInfo($0, image: "a")) }
        let plan = Planner.plan(desired: [desired(serviceSpec(), image: "b")], observed: servers, now: now)
        let web = plan.services[0]
        #expect(web.keep.isEmpty && web.create == 3 && web.replace.count == 3)
        #expect(web.replace[0] == .init(id: ServerID("web-1-0001"), reason: .imageChanged(from: digest("a"), to: digest("b"))))
        #expect(web.oldImage == digest("a") && web.newImage == digest("b"))
        #expect(plan.render().contains("replace web-1-0001 (image sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb…)"))
    }

    @Test func configChangeReplaces() {
        let servers = [observed(serverInfo("web-1-0001", config: "old"))]
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 1))], observed: servers, now: now)
        #expect(plan.services[0].replace == [.init(id: ServerID("web-1-0001"), reason: .configChanged([]))])
        #expect(plan.render() == "web: 1 server (host OS)\n  replace web-1-0001 (config changed)\n  create 1")
    }

    @Test func configChangeNamesThePartsThatChangedWithoutEnvValues() {
        var info = serverInfo("web-1-0001", config: "old")
        info.config = ["run": "python3 app.py", "port": "8080", "zone": "shop.pyre.",
                       "env.GREETING": configHash(["hello"]), "env.OLD": configHash(["x"]), "env.SAME": configHash(["s"])]
        var service = desired(serviceSpec(count: 1))
        service.configParts = ["run": "python3 app.py", "port": "8081", "zone": "shop.pyre.",
                               "env.GREETING": configHash(["bonjour"]), "env.NEW": configHash(["y"]), "env.SAME": configHash(["s"])]
        let plan = Planner.plan(desired: [service], observed: [observed(info)], now: now)
        #expect(plan.render() == "web: 1 server (host OS)\n  replace web-1-0001 (config changed: env GREETING changed, env NEW added, "
            + "env OLD removed, port 8080 → 8081)\n  create 1")
        #expect(!plan.render().contains("bonjour") && !plan.render().contains("hello"))
    }

    @Test func serversOlderThanMaxAgeAreReplaced() {
        let old = serverInfo("web-1-0001", createdAt: now.addingTimeInterval(-25 * 3600))
        let young = serverInfo("web-1-0002", createdAt: now.addingTimeInterval(-23 * 3600))
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 2, maxAge: .seconds(24 * 3600)))],
                                observed: [observed(old), observed(young)], now: now)
        #expect(plan.services[0].replace == [.init(id: old.id, reason: .tooOld(maxAge: .seconds(86400)))])
        #expect(plan.services[0].keep == [young.id] && plan.services[0].create == 1)
        #expect(plan.render().contains("replace web-1-0001 (older than max_age (24h))"))
    }

    @Test func exitedAndFailingServersAreReplaced() {
        let exited = serverInfo("web-1-0001", state: .exited(status: 1))
        let failing = serverInfo("web-1-0002")
        let fine = serverInfo("web-1-0003")
        let plan = Planner.plan(desired: [desired(serviceSpec())],
                                observed: [observed(exited), observed(failing, healthy: false, failing: true), observed(fine)],
                                now: now)
        let web = plan.services[0]
        #expect(web.replace == [.init(id: exited.id, reason: .exited(status: 1)), .init(id: failing.id, reason: .failingHealth)])
        #expect(web.replace.allSatisfy { $0.reason.isDead })
        #expect(web.keep == [fine.id] && web.create == 2)
        #expect(plan.render().contains("(exited with status 1)") && plan.render().contains("(failing health)"))
    }

    @Test func driftedServersAreReplaced() {
        let servers = ["web-1-0001", "web-1-0002"].map { observed(serverInfo($0)) }
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 2))], observed: servers, now: now,
                                replacing: [ServerID("web-1-0002")])
        #expect(plan.services[0].replace == [.init(id: ServerID("web-1-0002"), reason: .drifted)])
        #expect(plan.services[0].keep == [ServerID("web-1-0001")] && plan.services[0].create == 1)
        #expect(plan.render().contains("replace web-1-0002 (drifted from its image)"))
    }

    @Test func unhealthyButNotFailingServersStay() {
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 1))],
                                observed: [observed(serverInfo("web-1-0001"), healthy: false)], now: now)
        #expect(plan.isEmpty)
    }

    @Test func scaleUpKeepsAndCreates() {
        let servers = ["web-1-0001", "web-1-0002", "web-1-0003"].map { observed(serverInfo($0)) }
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 5))], observed: servers, now: now)
        #expect(plan.services[0].keep.count == 3 && plan.services[0].create == 2)
        #expect(plan.render() == "web: 5 servers (host OS)\n  create 2")
    }

    @Test func scaleDownDestroysTheOldestExtras() {
        let servers = [
            observed(serverInfo("web-1-0001", createdAt: now.addingTimeInterval(-30))),
            observed(serverInfo("web-1-0002", createdAt: now.addingTimeInterval(-20))),
            observed(serverInfo("web-1-0003", createdAt: now.addingTimeInterval(-10))),
        ]
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 2))], observed: servers, now: now)
        #expect(plan.services[0].keep == [ServerID("web-1-0002"), ServerID("web-1-0003")])
        #expect(plan.services[0].destroyExtra == [ServerID("web-1-0001")] && plan.services[0].create == 0)
        #expect(plan.render() == "web: 2 servers (host OS)\n  destroy 1 (count 3 → 2)")
    }

    @Test func staleServersBeyondCountAreReplacedWithoutNewOnes() {
        let servers = ["web-1-0001", "web-1-0002"].map { observed(serverInfo($0)) }
            + [observed(serverInfo("web-1-0003", image: "z"))]
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 2))], observed: servers, now: now)
        #expect(plan.services[0].keep.count == 2 && plan.services[0].create == 0)
        #expect(plan.services[0].replace.map(\.id) == [ServerID("web-1-0003")])
    }

    @Test func serversOfUndeclaredServicesAreDestroyed() {
        let servers = [observed(serverInfo("web-1-0001")), observed(serverInfo("worker-1-0001", service: "worker"))]
        let plan = Planner.plan(desired: [desired(serviceSpec(count: 1))], observed: servers, now: now)
        #expect(plan.services.map(\.service) == ["web", "worker"])
        let worker = plan.services[1]
        #expect(worker.isRemoval && worker.count == 0 && worker.destroyExtra == [ServerID("worker-1-0001")])
        #expect(plan.render() == "web: 1 server (host OS), up to date\nworker: destroy 1 (service no longer declared)")
    }
}

extension PlannerTests {
    @Test func onlyAHostOSImageIsLabelledSo() {
        var wholeServer = desired(serviceSpec())
        wholeServer.imageLocation = .root(ImageRoot(directory: URL(fileURLWithPath: "/images/a"), workdir: "/app", tmpfsBytes: 1 << 20))
        #expect(Planner.plan(desired: [wholeServer], observed: [], now: now).render() == "web: 3 servers\n  create 3")
        #expect(Planner.plan(desired: [desired(serviceSpec())], observed: [], now: now).services[0].onHostOS)
    }
}
