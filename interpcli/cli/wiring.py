"""How a session's channels are wired, decided before anything runs: which channel ends
each program has, which end the stdin pump sends on and which the stdout pump reads, and
which channels a failed run closes for the others. `interp run` shares its named
channels among all programs (run_wiring); `interp pipe` chains its stages (pipe_plan)."""


class Wiring:
    """The channels of one session.

    shared: the named channels every program sees, closed when a run fails (its partners
    would otherwise wait on them forever). stdin: the end the stdin pump sends on (None:
    no pump). stdout: the end the stdout pump reads (None: no pump); stdout_writer: the
    end closed once every writer is done, so that the pump drains and ends. stages: for a
    pipe, one Stage per program, else None."""

    __slots__ = ("shared", "stdin", "stdout", "stdout_writer", "stages")

    def __init__(self, shared=(), stdin=None, stdout=None, stdout_writer=None, stages=None):
        self.shared = list(shared)
        self.stdin = stdin
        self.stdout = stdout
        self.stdout_writer = stdout_writer if stdout_writer is not None else stdout
        self.stages = stages

    @property
    def pipeline(self) -> bool:
        return self.stages is not None

    @property
    def pumps(self) -> bool:
        return self.stdin is not None or self.stdout is not None

    def ends_of(self, index: int):
        """(reads, writes): the pipe ends of program index ((None, None) outside a pipe)."""
        if self.stages is None:
            return None, None
        stage = self.stages[index]
        return stage.reads, stage.writes


class Stage:
    """One stage of a pipe: it reads `reads` (bound as channels.stdin) and writes `writes`
    (channels.stdout); stage i's writes feed stage i+1's reads."""

    __slots__ = ("reads", "writes")

    def __init__(self, reads, writes):
        self.reads = reads
        self.writes = writes


def run_wiring(programs, names, stdin_name=None, stdout_name=None) -> Wiring:
    """`interp run`: one duplex channel per name, every program sees them all; the pumps
    use the channels named by --stdin/--stdout. Binds each program's channels."""
    from ..channels import create_duplex

    chans = {name: create_duplex() for name in names}
    for p in programs:
        p.channels = dict(chans)
    return Wiring(chans.values(), stdin=chans.get(stdin_name), stdout=chans.get(stdout_name))


def pipe_plan(programs, names) -> Wiring:
    """`interp pipe`: stdin -> stage 0 -> stage 1 ... -> stdout, a channel between each
    two neighbours (and one at each end for the pumps); every stage also sees the shared
    named channels. Binds each program's channels."""
    from ..channels import create_channel, create_duplex

    shared = {name: create_duplex() for name in names}
    links = [create_channel() for _ in range(len(programs) + 1)]  # (recv, send) each
    stages = [Stage(links[i][0], links[i + 1][1]) for i in range(len(programs))]
    for p, stage in zip(programs, stages):
        p.channels = {"stdin": stage.reads, "stdout": stage.writes, **shared}
    return Wiring(
        shared.values(),
        stdin=links[0][1],
        stdout=links[-1][0],
        stdout_writer=links[-1][1],
        stages=stages,
    )
