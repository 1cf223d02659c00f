"""Ping-pong between the main interpreter and an own-GIL subinterpreter over channels."""

import threading
import time

import interpcli

worker = interpcli.create("echo")
inbox_recv, inbox_send = interpcli.create_channel()  # main -> worker
outbox_recv, outbox_send = interpcli.create_channel()  # worker -> main

ECHO = """
for msg in channels.inbox:
    channels.outbox.send(msg.upper())
"""
echo = threading.Thread(
    target=worker.run,
    args=(ECHO,),
    kwargs={"channels": {"inbox": inbox_recv, "outbox": outbox_send}},
)
echo.start()
n = 20_000
t0 = time.perf_counter()
for _ in range(n):
    inbox_send.send(b"ping")
    assert outbox_recv.recv() == b"PING"
elapsed = time.perf_counter() - t0
inbox_send.close()
echo.join()
worker.close()
print(f"{n} round trips main <-> subinterpreter: {elapsed / n * 1e6:.2f} us each")
