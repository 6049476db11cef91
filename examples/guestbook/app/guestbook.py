"""A guestbook that keeps no state of its own: entries are EntryAdded events in Pyre's
event store. On boot it replays the `guestbook` stream (from the latest snapshot when
there is one), then follows it live; /healthz reports how far it got in the Pyre-Position
header, and Pyre publishes the server only once it has caught up."""
import html
import json
import logging
import logging.handlers
import os
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENTS = os.environ["PYRE_EVENTS_URL"]
TOKEN = os.environ["PYRE_EVENTS_TOKEN"]
SERVER = os.environ.get("PYRE_SERVER", "unknown")
TITLE = os.environ.get("TITLE", "Guestbook")
STREAM = "guestbook"
SNAPSHOT_EVERY = 100


class Book:
    """The entries, folded from the stream; `version` is the last event applied."""

    def __init__(self):
        self.entries = []
        self.version = -1
        self.changed = threading.Condition()

    def apply(self, event):
        with self.changed:
            if event["version"] != self.version + 1:
                return  # already applied (a resumed subscription repeats nothing, but be safe)
            if event["type"] == "EntryAdded":
                self.entries.append(event["data"])
            self.version = event["version"]
            self.changed.notify_all()

    def wait_for(self, version, timeout=5.0):
        with self.changed:
            self.changed.wait_for(lambda: self.version >= version, timeout)


def syslog():
    """Application events go to Pyre's log sink (logs.ZONE) over syslog; stdout is shipped too."""
    log = logging.getLogger("guestbook")
    log.setLevel(logging.INFO)
    host, _, port = os.environ.get("PYRE_LOGS", "").rpartition(":")
    if host:
        handler = logging.handlers.SysLogHandler(address=(host, int(port)))
        # Sent from the server's own address, Pyre attributes the records to this server.
        handler.socket.bind((os.environ.get("PYRE_ADDRESS", "0.0.0.0"), 0))
        handler.ident = "guestbook: "
        log.addHandler(handler)
    return log


BOOK = Book()
LOG = syslog()


def api(method, path, body=None, headers=None, timeout=10):
    request = urllib.request.Request(EVENTS + path, method=method, data=body)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    return urllib.request.urlopen(request, timeout=timeout)


def restore_snapshot():
    try:
        with api("GET", f"/snapshots/{STREAM}") as response:
            snapshot = json.load(response)
        BOOK.entries = list(snapshot["data"]["entries"])
        BOOK.version = snapshot["version"]
        print(f"{SERVER}: restored snapshot at version {BOOK.version}", flush=True)
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise


def follow():
    """Catch-up and live in one: the subscription starts after the snapshot; on any
    failure it resumes from the last version applied."""
    while True:
        try:
            # Longer than the stream's 15 s heartbeat, so a quiet stream is not taken for a dead one.
            with api("GET", f"/subscribe?stream={STREAM}&from={BOOK.version + 1}", timeout=60) as response:
                for raw in response:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: "):
                        BOOK.apply(json.loads(line[6:]))
                        if BOOK.version > 0 and BOOK.version % SNAPSHOT_EVERY == 0:
                            save_snapshot()
        except Exception as error:  # the agent restarting, a network blip: resume
            print(f"{SERVER}: subscription ended ({error}); resuming", flush=True)
            time.sleep(0.5)


def save_snapshot():
    with BOOK.changed:
        body = json.dumps({"version": BOOK.version, "data": {"entries": BOOK.entries}}).encode()
    api("PUT", f"/snapshots/{STREAM}", body, {"Content-Type": "application/json"}).close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            self.reply(200, "text/plain", b"ok\n", {"Pyre-Position": str(BOOK.version)})
        elif self.path == "/entries":
            with BOOK.changed:
                body = json.dumps({"server": SERVER, "version": BOOK.version, "entries": BOOK.entries})
            self.reply(200, "application/json", body.encode())
        else:
            with BOOK.changed:
                items = "".join(f"<li><b>{html.escape(e['name'])}</b>: {html.escape(e['message'])}</li>"
                                for e in BOOK.entries)
            page = (f"<h1>{html.escape(TITLE)}</h1><ul>{items}</ul>"
                    f"<p>served by {SERVER}, {len(BOOK.entries)} entries</p>")
            self.reply(200, "text/html; charset=utf-8", page.encode())

    def do_POST(self):
        if self.path != "/entries":
            return self.reply(404, "text/plain", b"not found\n")
        try:
            entry = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            name, message = str(entry["name"]), str(entry["message"])
        except (ValueError, KeyError, TypeError):
            LOG.warning("rejected a malformed entry from %s", self.address_string())
            return self.reply(400, "text/plain", b'send {"name": "...", "message": "..."}\n')
        event = {"id": str(uuid.uuid4()), "type": "EntryAdded", "data": {"name": name, "message": message}}
        with api("POST", f"/streams/{STREAM}", json.dumps(event).encode(),
                 {"Content-Type": "application/json"}) as response:
            result = json.load(response)
        BOOK.wait_for(result["lastVersion"])  # read your own write
        LOG.info("entry by %s stored at version %d", name, result["lastVersion"])
        self.reply(201, "application/json", json.dumps(result).encode())

    def reply(self, status, content_type, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        if self.path != "/healthz":  # Pyre probes it every interval; that is not news
            print(f"{self.address_string()} {fmt % args}", flush=True)


if __name__ == "__main__":
    restore_snapshot()
    threading.Thread(target=follow, daemon=True).start()
    address = os.environ.get("PYRE_ADDRESS", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    print(f"{SERVER} listening on {address}:{port}, replaying {STREAM} from version {BOOK.version + 1}", flush=True)
    ThreadingHTTPServer((address, port), Handler).serve_forever()
