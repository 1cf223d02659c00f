"""cffi build script for the interpcli core (API mode, full C API)."""
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
SOURCES = ["errors.c", "registry.c", "lent.c", "channel.c", "module.c", "lifecycle.c"]

ffibuilder = FFI()
with open(os.path.join(SRC, "capi.h")) as f:
    ffibuilder.cdef(f.read())

ffibuilder.set_source(
    "interpcli._native._core",
    '#include "common.h"\n',
    sources=[os.path.relpath(os.path.join(SRC, s)) for s in SOURCES],
    include_dirs=[os.path.relpath(SRC)],
    define_macros=[("_CFFI_NO_LIMITED_API", None)],
    extra_compile_args=["-std=gnu11", "-Wall", "-Wno-unused-function"],
    py_limited_api=False,
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.join(HERE, "..", ".."), verbose=True)
