"""No loss: 1,000,000 messages over 4 channels, 4 sender and 4 receiver interpreters, mixing
send, send_nowait, send_buffer and send_buffer_nowait. Every message arrives exactly once,
each sender's order is kept on every channel, and payload checksums match."""

import json
import time

import pytest
from stress_util import Runner, report, rss_mb, scaled

import interpcli

SENDERS = RECEIVERS = CHANNELS = 4

# A message: sender (1 byte), per-(sender, channel) sequence (8 bytes), crc32 of the body
# (4 bytes), body (0..96 bytes derived from sender and sequence). Every 4096th message is
# 64 KiB, so large items and lent buffers of real size cross too.
SENDER = r"""
import json, struct, zlib
me, count = ME, COUNT
outs = [channels.c0, channels.c1, channels.c2, channels.c3]
seqs = [0, 0, 0, 0]
crcs = [0, 0, 0, 0]
channels.ready.send_nowait(b'')
channels.go.recv()
for n in range(count):
    c = (n * 7 + me) % 4
    seq = seqs[c]
    size = 65536 if n % 4096 == 4095 else (n * 31 + me) % 97
    body = bytes([(seq + me + k) & 0xff for k in range(min(size, 8))]) * (size // 8) \
        + bytes(size % 8)
    crc = zlib.crc32(body)
    msg = struct.pack('<BqI', me, seq, crc) + body
    how = n % 10
    if how < 5:
        outs[c].send_nowait(msg)
    elif how < 7:
        outs[c].send_buffer_nowait(bytearray(msg))
    elif how < 9:
        outs[c].send_buffer(msg)
    else:
        outs[c].send(msg)
    seqs[c] = seq + 1
    crcs[c] = zlib.crc32(struct.pack('<I', crc), crcs[c])
for c in range(4):
    outs[c].send(b'END' + bytes([me]))
channels.report.send_nowait(json.dumps({'sender': me, 'sent': seqs, 'crc': crcs}).encode())
"""

RECEIVER = r"""
import json, struct, zlib
me = ME
inbox = channels.inbox
expect = [0, 0, 0, 0]       # next sequence from each sender
crcs = [0, 0, 0, 0]
ends = 0
views = copies = 0
bad = []
channels.ready.send_nowait(b'')
while ends < 4:
    msg = inbox.recv()
    if len(msg) == 4 and bytes(msg[:3]) == b'END':
        ends += 1
        continue
    if type(msg) is memoryview:
        views += 1
    else:
        copies += 1
    sender, seq, crc = struct.unpack_from('<BqI', msg)
    body = msg[13:]
    if seq != expect[sender]:
        bad.append(('order', sender, seq, expect[sender]))
        expect[sender] = seq
    if zlib.crc32(body) != crc:
        bad.append(('crc', sender, seq))
    expect[sender] += 1
    crcs[sender] = zlib.crc32(struct.pack('<I', crc), crcs[sender])
    del body, msg
    if len(bad) > 20:
        break
channels.report.send_nowait(json.dumps({'receiver': me, 'got': expect, 'crc': crcs,
                                        'views': views, 'copies': copies,
                                        'bad': bad}).encode())
"""


@pytest.mark.timeout(600)
def test_a_million_messages_exactly_once_in_order():
    total = scaled(1_000_000, 4000)
    per_sender = total // SENDERS
    chans = [interpcli.create_channel() for _ in range(CHANNELS)]
    ready_r, ready_s = interpcli.create_channel()
    go_r, go_s = interpcli.create_channel()
    report_r, report_s = interpcli.create_channel()
    senders = [interpcli.create(f"noloss-sender-{k}") for k in range(SENDERS)]
    receivers = [interpcli.create(f"noloss-receiver-{k}") for k in range(RECEIVERS)]
    runners = []
    try:
        for k, interp in enumerate(receivers):
            runners.append(
                Runner(
                    interp,
                    RECEIVER.replace("ME", str(k)),
                    channels={"inbox": chans[k][0], "ready": ready_s, "report": report_s},
                )
            )
        for k, interp in enumerate(senders):
            names = {f"c{c}": chans[c][1] for c in range(CHANNELS)}
            runners.append(
                Runner(
                    interp,
                    SENDER.replace("ME", str(k)).replace("COUNT", str(per_sender)),
                    channels={**names, "ready": ready_s, "go": go_r, "report": report_s},
                )
            )
        for _ in range(SENDERS + RECEIVERS):
            ready_r.recv(timeout=120)
        rss0 = rss_mb()
        t0 = time.perf_counter()
        for _ in range(SENDERS):
            go_s.send_nowait(b"go")
        results = [r.result(540) for r in runners]
        elapsed = time.perf_counter() - t0
        rss1 = rss_mb()
    finally:
        for r in runners:
            r.thread.join(30)
        for interp in senders + receivers:
            if interp.is_alive() and not interp.is_running():
                interp.close()
    for res in results:
        assert res.completed, res.traceback
    reports = [json.loads(report_r.recv_nowait()) for _ in range(SENDERS + RECEIVERS)]
    sent = {r["sender"]: r for r in reports if "sender" in r}
    got = {r["receiver"]: r for r in reports if "receiver" in r}
    for k in range(RECEIVERS):
        assert got[k]["bad"] == [], got[k]["bad"]
    # receiver c read channel c: exactly the sequences each sender put there, same checksums
    for c in range(CHANNELS):
        for s in range(SENDERS):
            assert got[c]["got"][s] == sent[s]["sent"][c]
            assert got[c]["crc"][s] == sent[s]["crc"][c]
    received = sum(sum(r["got"]) for r in got.values())
    assert received == per_sender * SENDERS
    assert report_r.recv_nowait(None) is None
    views = sum(r["views"] for r in got.values())
    report(
        "no_loss",
        messages=received,
        seconds=round(elapsed, 2),
        messages_per_s=round(received / elapsed),
        views=views,
        copies=sum(r["copies"] for r in got.values()),
        rss_growth_mb=round(rss1 - rss0, 1),
    )
