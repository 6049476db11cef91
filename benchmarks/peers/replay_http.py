"""Replays an event store over Pyre's events API the way a Python service would on boot:
pages read with http.client on one kept-alive connection, each parsed with json.

Prints one JSON line: the seconds taken, the events read, and this process's anonymous
resident memory (MB) after each tenth, which must stay flat.
"""
import argparse
import http.client
import json
import time


def resident_megabytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) // 1024
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--stream", help="a stream to replay; $all when absent")
    args = parser.parse_args()

    connection = http.client.HTTPConnection("127.0.0.1", args.port)
    headers = {"Authorization": f"Bearer {args.token}"}
    path = f"/streams/{args.stream}" if args.stream else "/all"
    key = "version" if args.stream else "position"
    start, replayed, data_bytes, by_tenth = 0, 0, 0, []
    tenth = max(1, args.events // 10)
    began = time.perf_counter()
    while True:
        connection.request("GET", f"{path}?from={start}&limit={args.page}", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"the events API answered {response.status}: {body[:200]!r}")
        events = json.loads(body)["events"]
        if not events:
            break
        for event in events:
            data_bytes += len(event["data"])
        previous = replayed
        replayed += len(events)
        start = events[-1][key] + 1
        if replayed // tenth > previous // tenth:
            by_tenth.append(resident_megabytes())
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "events": replayed, "residentByTenth": by_tenth}))


if __name__ == "__main__":
    main()
