"""Closing a session's interpreters once the runs are over, in the order that works:
downstream first (it holds views of memory upstream lent it), those that refuse retried
while others close, the last forced. After Ctrl-C, within a deadline."""

import time

from ..errors import InterpError
from . import report


def close_all(jobs, deadline) -> str:
    """Close the interpreters the jobs' own threads left open (the early ones not taken
    are main()'s to close: cli.early); with a deadline, what could not be closed by then
    because threads were left in it (as one text)."""
    left = [j.interp for j in jobs if j.interp is not None and not (j.closed or j.threads_left)]
    labels = {j.interp.id: j.program.label for j in jobs if j.interp is not None}
    stuck = []
    if deadline is not None:
        keep = []
        for interp in reversed(left):
            try:
                interp.close(timeout=max(0.0, deadline - time.monotonic()))
            except InterpError as exc:
                if "thread" in str(exc):
                    stuck.append(f"thread(s) of {labels.get(interp.id, interp.name)}")
                else:
                    keep.append(interp)  # lent memory: closed in order below
        left = keep[::-1]
    while left:
        progress, keep = False, []
        for interp in reversed(left):  # downstream first: it holds upstream's views
            try:
                interp.close()
                progress = True
            except InterpError:
                keep.append(interp)
        left = keep
        if not progress:
            for interp in left:
                try:
                    interp.close(force=True)
                except InterpError as exc:
                    report.error(f"cannot close interpreter {interp.name!r}: {exc}")
            break
    return ", ".join(stuck)
