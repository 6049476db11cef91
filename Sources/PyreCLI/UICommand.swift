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
            let login = try await client.dashboardLoginCode()
            let url = client.endpoint.url + DashboardRoutes.login.request(query: [("code", login.code)]).path
            print(url)
            if open { try Self.openInBrowser(url) }
        }
    }

    private static func openInBrowser(_ url: String) throws {
        guard let opener = ["/usr/bin/xdg-open", "/usr/bin/sensible-browser"].first(where: FileManager.default.isExecutableFile) else {
            throw CLIFailure(message: "cannot open a browser here (no xdg-open); open the link above yourself", code: 1)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url]
        try process.run()
    }
}
