"""An `interp pipe` stage: upper-case everything passing through.

printf 'hello\\n' | interp pipe examples/upper_stage.py examples/passthrough.py
"""

for chunk in channels.stdin:
    channels.stdout.send(bytes(chunk).upper())
