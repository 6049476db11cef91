"""A RELP relay that records what the receiver acknowledged: `relp_ack_recorder.py
LISTEN_PORT TARGET_HOST TARGET_PORT ACKED_FILE`. It passes bytes both ways unchanged,
remembers each `syslog` frame's message by transaction number, and for every `200 OK`
response to one appends the message to ACKED_FILE (flushed at once), so a test knows
exactly which messages a sender got an acknowledgement for. When either side goes away
it closes the other, as a broken connection would; the sender then reconnects through it."""
import asyncio
import sys

listen_port, target_host, target_port, acked_path = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
acked = open(acked_path, "a", buffering=1)


def frames(buffer):
    """Complete frames at the start of buffer as (txnr, command, data), and the rest."""
    found, offset = [], 0
    while True:
        first = buffer.find(b" ", offset)
        second = buffer.find(b" ", first + 1) if first >= 0 else -1
        if second < 0:
            break
        end = second + 1
        while end < len(buffer) and buffer[end:end + 1].isdigit():
            end += 1
        if end == len(buffer):
            break
        length = int(buffer[second + 1:end])
        data_start = end if length == 0 else end + 1
        if len(buffer) < data_start + length + 1:
            break
        found.append((int(buffer[offset:first]), buffer[first + 1:second], buffer[data_start:data_start + length]))
        offset = data_start + length + 1
    return found, buffer[offset:]


async def pump(reader, writer, on_frame):
    buffer = b""
    try:
        while data := await reader.read(65536):
            buffer += data
            found, buffer = frames(buffer)
            for frame in found:
                on_frame(*frame)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def relay(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
    except OSError:
        client_writer.close()
        return
    messages = {}

    def sent(txnr, command, data):
        if command == b"syslog":
            messages[txnr] = data

    def answered(txnr, command, data):
        if command == b"rsp" and data.startswith(b"200") and txnr in messages:
            acked.write(messages.pop(txnr).decode(errors="replace").replace("\n", " ") + "\n")

    await asyncio.gather(pump(client_reader, server_writer, sent), pump(server_reader, client_writer, answered))


async def main():
    server = await asyncio.start_server(relay, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()

asyncio.run(main())
