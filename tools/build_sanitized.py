"""Build interpcli's C core (the extension module interpcli._native._interpcli) with
AddressSanitizer + UndefinedBehaviorSanitizer into a copy of the source tree (never into
the working tree, whose core other processes load).

    python tools/build_sanitized.py COPY_ROOT

COPY_ROOT holds a copy of setup.py, pyproject.toml, README.md and interpcli/; the sanitized
extension is built in place there (setup.py build_ext --inplace --force) with the
sanitizer flags in CFLAGS/LDFLAGS. Prints the path of the built module."""

import glob
import os
import subprocess
import sys
import sysconfig

root = os.path.abspath(sys.argv[1])
flags = (
    "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
)
env = dict(os.environ)
# setuptools appends CFLAGS/LDFLAGS from the environment to CPython's own flags, so these
# come last and win (-O1 over CPython's -O3)
env["CFLAGS"] = (env.get("CFLAGS", "") + " " + flags).strip()
env["LDFLAGS"] = (env.get("LDFLAGS", "") + " -fsanitize=address,undefined").strip()
# an ASan-preloaded environment would sanitize the compiler's python too: not wanted here
env.pop("LD_PRELOAD", None)
suffix = sysconfig.get_config_var("EXT_SUFFIX")
for old in glob.glob(os.path.join(root, "interpcli", "_native", "_interpcli*" + suffix)):
    os.remove(old)  # a built core, not the type stub (_interpcli.pyi)
proc = subprocess.run(
    [
        sys.executable,
        "setup.py",
        "-q",
        "build_ext",
        "--inplace",
        "--force",
        "--build-temp",
        os.path.join(root, "build", "temp-sanitize"),
    ],
    cwd=root,
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
)
out = os.path.join(root, "interpcli", "_native", "_interpcli" + suffix)
if proc.returncode != 0 or not os.path.exists(out):
    sys.stderr.write(proc.stdout)
    sys.exit(f"build_sanitized: building the sanitized core failed (status {proc.returncode})")
# the build must really be instrumented: the module calls into ASan's and UBSan's runtimes
with open(out, "rb") as f:
    image = f.read()
for marker in (b"__asan_init", b"__ubsan_handle_"):
    if marker not in image:
        sys.exit(f"build_sanitized: {out} is not instrumented ({marker.decode()} missing)")
print(out)
