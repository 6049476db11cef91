"""A tiny web server that says which immutable server answered."""
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER = os.environ.get("PYRE_SERVER", "unknown")
GENERATION = os.environ.get("PYRE_GENERATION", "?")
GREETING = os.environ.get("GREETING", "hello")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = b"ok\n"
        else:
            body = f"{GREETING} from {SERVER} (generation {GENERATION})\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if self.path != "/healthz":  # Pyre probes it every interval; that is not news
            print(f"{self.address_string()} {fmt % args}", flush=True)


if __name__ == "__main__":
    address = os.environ.get("PYRE_ADDRESS", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    print(f"{SERVER} listening on {address}:{port}", flush=True)
    ThreadingHTTPServer((address, port), Handler).serve_forever()
