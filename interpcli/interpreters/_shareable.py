"""Which objects are shareable (cross as they are), and the error for those that do not
cross at all. The base of _crossinterp and _pickling."""

from __future__ import annotations

from .. import _lowlevel
from ..errors import InterpError
from . import _stdlib

_END_TYPES = _lowlevel.END_TYPES

# the kinds this layer gives the core channels it makes (_lowlevel.kind), so that a lookup by
# id (Queue(id), RecvChannel(id)) refuses a channel made for something else
KIND_QUEUE = 1  # a queue's state channel: its id is the queue's id
KIND_QUEUE_PART = 2  # a queue's items and wake channels
KIND_CHANNEL = 3  # interpreters.channels' channels


def kind_of(cid) -> int | None:
    """The kind of channel cid, or None when there is no such channel."""
    try:
        return _lowlevel.kind(cid)
    except (_lowlevel.ChannelError, OverflowError, TypeError):
        return None


# bases known at run time: the stdlib's class too on 3.14+ (_stdlib.std)
class NotShareableError(InterpError, *_stdlib.std("NotShareableError"), ValueError):  # type: ignore[misc]
    """The object cannot be passed to another interpreter (not shareable, not picklable)."""


# ---- shareable ----

_PLAIN = frozenset({type(None), bool, int, float, str, bytes})
_xi_types: set = set()  # Python classes that cross by id (queues, channel wrappers)


def register_xi_type(cls) -> None:
    """Make instances of cls shareable; cls must define _xi_reduce(keep) -> reduce tuple."""
    _xi_types.add(cls)


def _plain(obj) -> bool:
    t = type(obj)
    if t in _PLAIN:
        return True
    if t is tuple:
        return all(_plain(o) for o in obj)
    return False


def is_shareable(obj) -> bool:
    """True if the object's data passes to another interpreter as it is: None, bool, int,
    float, str, bytes, memoryview, tuples of shareable objects, queues and channel ends."""
    t = type(obj)
    if t in _PLAIN or t is memoryview or t in _END_TYPES or t in _xi_types:
        return True
    if t is tuple:
        return all(is_shareable(o) for o in obj)
    return False
