"""Sends RFC 5424 messages to a syslog receiver over TCP with octet counting, on several
connections, until the receiver goes away: `syslog_load.py HOST PORT CONNECTIONS`.
Message n of connection c reads `conn=c n=n`, so a reader can check each connection's
messages arrived as an unbroken prefix."""
import socket
import sys
import threading
import time

host, port, connections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def send(connection):
    sock = socket.create_connection((host, port))
    n = 0
    try:
        while True:
            message = f"<14>1 2026-11-27T10:00:00Z loadhost loadtest - - - conn={connection} n={n}".encode()
            sock.sendall(str(len(message)).encode() + b" " + message)
            n += 1
            if n % 50 == 0:
                time.sleep(0.01)
    except OSError:
        pass


threads = [threading.Thread(target=send, args=(c,)) for c in range(connections)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
