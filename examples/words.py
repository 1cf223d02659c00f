"""An `interp pipe` stage: count words per line of text and pass "count<TAB>line" on.

printf 'a b c\\nhello\\n' | interp pipe examples/upper_stage.py examples/words.py
"""

pending = b""
for chunk in channels.stdin:
    pending += bytes(chunk)
    *lines, pending = pending.split(b"\n")
    for line in lines:
        channels.stdout.send(b"%d\t%s\n" % (len(line.split()), line))
if pending:
    channels.stdout.send(b"%d\t%s\n" % (len(pending.split()), pending))
