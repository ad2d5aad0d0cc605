"""A TCP relay that holds every byte for a fixed time: a known delay to recover on the glass.

    python3 delay_relay.py LISTEN_HOST:PORT TARGET_HOST:PORT DOWN_MS [UP_MS]

DOWN_MS delays what the target (the SPICE server) sends to the client, UP_MS
what the client sends. Each connection (SPICE opens one per channel) gets its
own pair of pumps; a chunk read at t is written at t + delay, in order, so the
delay is exact to the event loop's timer resolution (about a millisecond)
whatever the rate. Prints ``listening`` once it accepts connections.
"""

from __future__ import annotations

import asyncio
import sys
import time


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def release() -> None:
        while True:
            due, chunk = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                writer.close()
                return
            writer.write(chunk)
            await writer.drain()

    releasing = asyncio.create_task(release())
    try:
        while True:
            chunk = await reader.read(65536)
            await queue.put((time.monotonic() + delay, chunk))
            if not chunk:
                break
        await releasing
    except (ConnectionError, OSError):
        releasing.cancel()
        writer.close()


async def main(listen: str, target: str, down_ms: float, up_ms: float) -> None:
    target_host, target_port = target.rsplit(":", 1)

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter):
        try:
            server_reader, server_writer = await asyncio.open_connection(
                target_host, int(target_port)
            )
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, server_writer, up_ms / 1000),
            pump(server_reader, client_writer, down_ms / 1000),
            return_exceptions=True,
        )

    host, port = listen.rsplit(":", 1)
    server = await asyncio.start_server(serve, host, int(port))
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    listen, target, down = sys.argv[1], sys.argv[2], float(sys.argv[3])
    up = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    asyncio.run(main(listen, target, down, up))
