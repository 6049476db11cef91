import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreLocal
import Synchronization

/// A throwaway system on disk: a manifest, an app directory and a state directory, all in a
/// temporary directory removed by `cleanUp()`.
final class TestSystem: @unchecked Sendable {
    let name: String
    let directory: URL
    var appDirectory: URL { directory.appendingPathComponent("app") }
    var state: StateDirectory { StateDirectory(root: directory.appendingPathComponent(".pyre")) }

    /// `service` is the YAML body of service `web` (indented by 4 spaces), without `image:`;
    /// without a `strategy:` of its own the service has no canary and no watch, so tests not
    /// about progressive delivery deploy fast;
    /// `extra` is appended at the top level (entrypoints:, dns:); `image` under `images.web`.
    /// A system whose servers run elsewhere (`onThisHost: false`, AWS on moto) takes no
    /// addresses here, so its name may be random.
    init(name: String, onThisHost: Bool = true, service: String = "count: 3", extra: String = "", image: String = "",
         version: String = "v1") throws {
        self.name = name
        if onThisHost { try Self.claimAddresses(of: name) }
        self.extra = extra
        self.image = image
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-it-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: appDirectory, withIntermediateDirectories: true)
        try Self.app.write(to: appDirectory.appendingPathComponent("app.py"), atomically: true, encoding: .utf8)
        try setVersion(version)
        try writeManifest(service: service)
    }

    private let extra: String

    /// Loopback prefix and subnet → the test system whose servers have them. Tests run at
    /// once, so two systems with the same addresses would answer each other's requests.
    private static let addressOwners = Mutex<[String: String]>([:])

    /// Fails when another test system of this run shares `name`'s addresses: rename one.
    private static func claimAddresses(of name: String) throws {
        let local = LocalProviderConfiguration(system: name, serversDirectory: URL(fileURLWithPath: "/"), isolation: .process)
        try addressOwners.withLock { owners in
            for key in ["loopback \(local.loopbackPrefix)", "subnet \(local.subnet)"] {
                if let owner = owners[key], owner != name {
                    throw TestFailure("test systems \(owner) and \(name) share \(key); rename one so they cannot collide")
                }
                owners[key] = name
            }
        }
    }
    var image: String

    func writeManifest(service: String) throws {
        let manifest = """
        system: \(name)
        images:
          web:
            context: ./app
            run: ["python3", "app.py"]
            \(image)
        services:
          web:
            image: web
            port: 8080
        \(service.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
        \(service.contains("drain:") ? "" : "    drain: 0s")
        \(service.contains("strategy:") ? "" : "    strategy: { canary: 0, watch: 0s }")
        \(service.contains("health:") ? "" : "    health: { http: /healthz, interval: 100ms, timeout: 1s, deadline: 10s }")
        \(extra)
        """
        try manifest.write(to: directory.appendingPathComponent("pyre.yml"), atomically: true, encoding: .utf8)
    }

    /// Changes the image's contents, so the next deploy needs new servers.
    func setVersion(_ version: String) throws {
        try version.write(to: appDirectory.appendingPathComponent("VERSION"), atomically: true, encoding: .utf8)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Answers `/` with its server id and version; `/healthz` fails when the image holds a
    /// file named UNHEALTHY. With a file CRASH it exits with status 3 two seconds after it
    /// first answered `/healthz`, between connections: it stops accepting, finishes those it
    /// has and exits (a crash in the middle of an answer fails that answer whatever the proxy
    /// does). With ERROR_PERCENT (say `5`) it logs a line every millisecond, that share of
    /// them to standard error.
    static let app = """
    import os, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    VERSION = open("VERSION").read().strip()
    UNHEALTHY = os.path.exists("UNHEALTHY")
    CRASH = os.path.exists("CRASH")
    crash_at = []
    in_flight = [0]
    lock = threading.Lock()

    def chatter(percent):
        every = round(100 / percent) if percent > 0 else 0
        line = 0
        while True:
            line += 1
            if every and line % every == 0:
                print(f"line {line}: something failed", file=sys.stderr, flush=True)
            else:
                print(f"line {line}: fine", flush=True)
            time.sleep(0.001)

    if os.path.exists("ERROR_PERCENT"):
        percent = float(open("ERROR_PERCENT").read())
        threading.Thread(target=chatter, args=(percent,), daemon=True).start()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/healthz":
                status, body = (500, b"sick") if UNHEALTHY else (200, b"ok")
                if CRASH and not crash_at:
                    crash_at.append(time.monotonic() + 2)
            else:
                status, body = 200, f"{os.environ['PYRE_SERVER']} {VERSION}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def process_request(self, request, address):
            with lock:
                in_flight[0] += 1
            super().process_request(request, address)

        def shutdown_request(self, request):
            super().shutdown_request(request)
            with lock:
                in_flight[0] -= 1

    server = Server((os.environ["PYRE_ADDRESS"], int(os.environ["PORT"])), Handler)
    server.timeout = 0.05
    while not crash_at or time.monotonic() < crash_at[0]:
        server.handle_request()
    server.socket.close()
    while in_flight[0]:
        time.sleep(0.001)
    os._exit(3)
    """
}
