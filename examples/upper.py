"""Upper-case a stream: reads channels.inp, writes channels.out.

printf 'hello\\n' | interp run examples/upper.py --channels inp,out --stdin inp --stdout out
"""

for chunk in channels.inp:
    channels.out.send(bytes(chunk).upper())
