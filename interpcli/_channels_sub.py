"""Imported in an interpreter by the one line that binds `channels` in its __main__ before
a run (interpcli.channels.binding_source)."""

import types

from ._lowlevel import end


def namespace(**ends):
    """`channels`: each name bound to its channel end, given as (end id, mode)."""
    return types.SimpleNamespace(**{name: end(*ref) for name, ref in ends.items()})
