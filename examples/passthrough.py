"""An `interp pipe` stage that passes its input on unchanged, without copying it:
each message received is lent on to the next stage with send_buffer.

    interp pipe examples/passthrough.py examples/passthrough.py < in > out
"""

send = channels.stdout.send_buffer
for chunk in channels.stdin:
    send(chunk)
