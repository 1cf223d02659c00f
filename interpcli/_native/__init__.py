"""The compiled core: re-exports cffi's `ffi` and `lib` and nothing else."""
from ._core import ffi, lib

__all__ = ["ffi", "lib"]
