import Hummingbird
import NIOCore
import PyreCore

/// The dashboard's two HTML documents: the page (a shell the script fills in) and the one
/// that says how to sign in. Both are built into the binary; nothing is fetched from elsewhere.
enum DashboardPages {
    /// The page, carrying its session's CSRF token for the script's state-changing requests.
    static func dashboard(system: String, csrfToken: String) -> Response {
        html(.ok, """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="csrf-token" content="\(MarkupText.escape(csrfToken))">
            <title>\(MarkupText.escape(system)) · Pyre</title>
            <link rel="stylesheet" href="/ui/assets/dashboard.css">
            </head>
            <body>
            <header>
              <h1><span class="brand">Pyre</span> <span id="system">\(MarkupText.escape(system))</span></h1>
              <nav>
                <a href="#fleet">Fleet</a> <a href="#deployments">Deployments</a> <a href="#logs">Logs</a>
                <a href="#events">Events</a> <a href="#dns">DNS</a>
              </nav>
              <p id="connection" role="status">connecting…</p>
            </header>
            <main id="view" aria-live="polite"></main>
            <section id="operation" hidden><h2>Operation</h2><pre id="operation-log"></pre></section>
            <script src="/ui/assets/dashboard.js"></script>
            </body>
            </html>
            """)
    }

    /// 401 for a browser without a session: how to get one.
    static func signInRequired(reason: String = "This page needs a dashboard session.") -> Response {
        html(.unauthorized, """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Sign in · Pyre</title><link rel="stylesheet" href="/ui/assets/dashboard.css"></head>
            <body><main class="signin">
            <h1>Pyre dashboard</h1>
            <p>\(MarkupText.escape(reason))</p>
            <p>Run <code>pyre ui DIR</code> (add <code>--open</code> to open it in your browser) on the machine that
            runs the agent: it prints a link with a one-time login code.</p>
            </main></body></html>
            """)
    }

    private static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            // Only this page's own script and style; no framing by another site.
            .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            .init("X-Frame-Options")!: "DENY", .init("Referrer-Policy")!: "no-referrer",
        ], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The script and style of the page (DashboardScript.swift, DashboardStyle.swift).
enum DashboardAssets {
    struct Asset {
        var contentType: String
        var text: String
    }

    static func named(_ name: String) -> Asset? {
        switch name {
        case "dashboard.js": Asset(contentType: "text/javascript; charset=utf-8", text: DashboardScript.text)
        case "dashboard.css": Asset(contentType: "text/css; charset=utf-8", text: DashboardStyle.text)
        default: nil
        }
    }
}
