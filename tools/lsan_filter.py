"""Read LeakSanitizer reports; print and count the leaks allocated by interpcli's C core
(a direct leak whose allocating frame, the first after the allocator, is in the core's
sources). CPython's own leaks at exit are ignored. Exit status 1 if any.

    python tools/lsan_filter.py REPORT_OR_DIR...

A directory stands for the files in it; none at all means LSan found no leak."""

import os
import re
import sys

ALLOCATORS = re.compile(
    r" in (malloc|calloc|realloc|strdup|strndup|__interceptor_\w+|"
    r"PyMem_Raw\w+|_PyMem_Raw\w+)\b"
)
OURS = re.compile(r"interpcli/_native/src/\w+\.c")

ours = 0
total = 0
paths = []
for arg in sys.argv[1:]:
    if os.path.isdir(arg):
        paths += sorted(os.path.join(arg, name) for name in os.listdir(arg))
    else:
        paths.append(arg)
for path in paths:
    text = open(path, errors="replace").read()
    for block in re.split(r"\n(?=(?:Direct|Indirect) leak of )", text):
        if not block.startswith("Direct leak of"):
            continue
        total += 1
        frames = [ln for ln in block.splitlines()[1:] if ln.strip().startswith("#")]
        caller = next((f for f in frames if not ALLOCATORS.search(f)), "")
        if OURS.search(caller):
            ours += 1
            print(block.strip(), end="\n\n")
print(f"lsan: {total} direct leak record(s) in all, {ours} allocated by interpcli's C core")
sys.exit(1 if ours else 0)
