"""Build interpcli's C core with AddressSanitizer + UndefinedBehaviorSanitizer into a copy
of the source tree (never into the working tree, whose core other processes load).

    python tools/build_sanitized.py COPY_ROOT

COPY_ROOT holds a copy of interpcli/; the sanitized _core*.so is written into it."""
import importlib.util
import os
import sys

root = os.path.abspath(sys.argv[1])
os.chdir(root)                  # build.py names its sources relative to the working dir
spec = importlib.util.spec_from_file_location("ic_build", "interpcli/_native/build.py")
build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build)
ffi = build.ffibuilder
module_name, source, source_extension, kwds = ffi._assigned_source
flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
         "-fno-omit-frame-pointer", "-g", "-O1"]
kwds = dict(kwds)
kwds["extra_compile_args"] = [a for a in kwds.get("extra_compile_args", [])] + flags
kwds["extra_link_args"] = list(kwds.get("extra_link_args", [])) + ["-fsanitize=address,undefined"]
ffi._assigned_source = (module_name, source, source_extension, kwds)
out = ffi.compile(tmpdir=root, verbose=False)
print(out)
