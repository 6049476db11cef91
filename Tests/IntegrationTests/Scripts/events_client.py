"""Drives Pyre's events API for the integration tests, with the standard library only.

usage: events_client.py URL TOKEN race | load FILE | check FILE
"""
import json
import sys
import threading
import urllib.error
import urllib.request
import uuid

URL, TOKEN, COMMAND = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, body=None, headers=None, token=TOKEN):
    request = urllib.request.Request(URL + path, method=method, data=body)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def event(number, type_="Counted"):
    return {"id": str(uuid.uuid4()), "type": type_, "data": {"n": number}}


def race():
    stream = f"race-{uuid.uuid4()}"
    assert call("POST", f"/streams/{stream}", json.dumps(event(0)).encode())[0] == 201
    results = []
    barrier = threading.Barrier(16)

    def writer(number):
        barrier.wait()
        results.append(call("POST", f"/streams/{stream}", json.dumps(event(number)).encode(), {"Expected-Version": "0"}))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conflicts = [json.loads(body) for status, body in results if status == 409]
    report = {
        "created": sum(1 for status, _ in results if status == 201),
        "conflicts": len(conflicts),
        "actualVersions": sorted({c["actualVersion"] for c in conflicts}),
        "unauthorized": call("POST", f"/streams/{stream}", b"{}", token=None)[0],
        "malformed": call("POST", f"/streams/{stream}", b'{"type": "X"')[0],
        "tooLarge": call("POST", f"/streams/{stream}", json.dumps(event("x" * (2 << 20))).encode())[0],
        "resumedIds": resumed_ids(stream),
        "idTaken": id_taken(stream),
    }
    print(json.dumps(report))


def id_taken(stream):
    """An event whose id is stored in another stream: refused, not a retry."""
    taken = event(1)
    call("POST", f"/streams/{stream}-other", json.dumps(taken).encode())
    return call("POST", f"/streams/{stream}", json.dumps(taken).encode())[0]


def resumed_ids(stream):
    """Subscribes with Last-Event-ID 0: the stream's events after version 0 arrive."""
    request = urllib.request.Request(f"{URL}/subscribe?stream={stream}")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    request.add_header("Last-Event-ID", "0")
    ids = []
    call("POST", f"/streams/{stream}", json.dumps(event(99)).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("id: "):
                ids.append(line[4:])
                if len(ids) == 2:
                    return ids
    return ids


def load(path):
    """8 writers append batches of 3 to their own streams until the agent dies; each
    acknowledged append is written to FILE (one JSON line, flushed) before the next."""
    lock = threading.Lock()
    out = open(path, "a")

    def writer(number):
        stream = f"load-{number}"
        batch = 0
        while True:
            events = [event(batch * 3 + k, f"Batch{batch}") for k in range(3)]
            try:
                status, body = call("POST", f"/streams/{stream}", json.dumps(events).encode())
            except Exception:
                return
            if status != 201:
                return
            result = json.loads(body)
            with lock:
                out.write(json.dumps({"stream": stream, "ids": [e["id"] for e in events], **result}) + "\n")
                out.flush()
            batch += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def check(path):
    acknowledged = [json.loads(line) for line in open(path) if line.strip()]
    problems = []
    streams = {a["stream"] for a in acknowledged}
    for stream in sorted(streams):
        stored = []
        while True:
            page = json.loads(call("GET", f"/streams/{stream}?from={len(stored)}&limit=1000")[1])["events"]
            stored += page
            if len(page) < 1000:
                break
        versions = [e["version"] for e in stored]
        if versions != list(range(len(stored))):
            problems.append(f"{stream}: versions not contiguous")
        if len(stored) % 3:
            problems.append(f"{stream}: {len(stored)} events, a partial batch")
        for index in range(0, len(stored) - len(stored) % 3, 3):
            if len({e["type"] for e in stored[index:index + 3]}) != 1:
                problems.append(f"{stream}: batch at version {index} mixed")
        ids = {e["id"] for e in stored}
        for ack in (a for a in acknowledged if a["stream"] == stream):
            if not all(i in ids for i in ack["ids"]):
                problems.append(f"{stream}: acknowledged append at version {ack['firstVersion']} lost")
    print("ok" if not problems else "FAILED", len(acknowledged), "acknowledged appends", problems[:5])


{"race": race, "load": lambda: load(sys.argv[4]), "check": lambda: check(sys.argv[4])}[COMMAND]()
