"""How values are framed on the channels between interpreters: the one-byte tags that say
how a message's payload is encoded, and the headers before it. Both sides of every channel
import these names from here (the sending and the receiving interpreter alike).

A tag exists as bytes (a message's first byte, compared with `msg[:1] == TAG`) and as an
int (a field of a struct header, `K_...`). Imports nothing of interpcli: it loads in every
interpreter, the pool's workers included, at no cost."""

import struct

# -- payload kinds (interpreters' queues, channels and calls; the pool's tasks/replies)
MARSHAL = b"M"  # marshal.dumps of a shareable value
PICKLE = b"P"  # pickle (with ends and queues kept alive in flight)
BUFFER = b"V"  # a memoryview lent on a private channel, whose id follows
TIMED = b"T"  # interpreters.channels' send with a timeout: a token and an ack channel
K_MARSHAL, K_PICKLE, K_BUFFER, K_TIMED = MARSHAL[0], PICKLE[0], BUFFER[0], TIMED[0]

# -- headers
# a cross-interpreter message (interpcli.interpreters): putter interpreter id, what to do
# when it is gone (the unbound op), payload kind
XI_HEAD = struct.Struct("<qBB")
# a pool task or reply: kind (MARSHAL or PICKLE), the task's id, then the payload
TASK_ID = struct.Struct("<q")
TASK_HEAD = 1 + TASK_ID.size

# -- the shell's output channel (repl.bridge): a line of stdout, of stderr, or a marker
# the reader answers once everything before it was written
SHELL_OUT = b"o"
SHELL_ERR = b"e"
SHELL_MARK = b"M"
