"""Imported in an interpreter by the one line that binds `channels` in its __main__ before
a run (interpcli.channels.binding_source)."""
import types

import _interpcli as _core


def namespace(**ends):
    """`channels`: each name bound to its channel end, given as (end id, mode)."""
    return types.SimpleNamespace(**{name: _core._end(*end) for name, end in ends.items()})
