import ArgumentParser
import Foundation
import PyreAPI

struct UI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Print a link that signs a browser in to the agent's dashboard (good for one use, for two minutes).",
        discussion: "The link carries a one-time login code, which the agent trades for a session cookie; the control token never reaches the browser.")

    @OptionGroup var options: SystemOptions

    @Flag(help: "Also open the link in the desktop's browser (xdg-open).")
    var open = false

    func run() async throws {
        try await reportingErrors {
            let client = try options.client()
            let url = try await client.dashboardLoginCode().url(controlURL: client.endpoint.url)
            print(url)
            if open { try Self.openInBrowser(url, state: options.state) }
        }
    }

    /// Opens a page of the state directory (mode 0600) that goes on to `url`: a URL on the
    /// opener's command line could be read from /proc by another user, and the code used first.
    private static func openInBrowser(_ url: String, state: StateDirectory) throws {
        guard let opener = ["/usr/bin/xdg-open", "/usr/bin/sensible-browser"].first(where: FileManager.default.isExecutableFile) else {
            throw CLIFailure(message: "cannot open a browser here (no xdg-open); open the link above yourself", code: 1)
        }
        let page = state.root.appendingPathComponent("ui-login.html")
        try? FileManager.default.removeItem(at: page)
        guard FileManager.default.createFile(atPath: page.path, contents: Data("""
            <!doctype html><meta http-equiv="refresh" content="0; url=\(url)"><a href="\(url)">Pyre dashboard</a>
            """.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CLIFailure(message: "cannot write \(page.path); open the link above yourself", code: 1)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [page.path]
        try process.run()
    }
}
