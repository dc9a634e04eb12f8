"""A large fleet plan spread over the machine's cores: one process per core, each planning its share of
the merchants with its own threads, each merchant's outcome sent back, as it is known, into the run's one
plan document.

Planning a merchant costs the interpreter ~10 ms of CPU (loading, resolving, two answers to parse, the
plan), so past a few dozen merchants one interpreter is the limit, not Centra. Processes are forked,
so they start with everything the run has prepared (modules, presets, the operation), and only from a
process with no other thread, the one case where forking is safe. What Centra sees does not change:
the run's cap on requests in flight is one semaphore the processes share, and each host's cap and
pacer budget are divided between them, so together they never exceed them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from provisioner.config import environments as envs
from provisioner.engine.fleet.hosts import Gates, Slots
from provisioner.errors import ProvisionerError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

log = logging.getLogger(__name__)
PROCESSES_ENV = "PROVISION_FLEET_PROCESSES"  # a number of processes; 1 keeps a run in one process
MERCHANTS_PER_PROCESS = 32  # below this many merchants a process costs more than it saves


@dataclass(frozen=True)
class Limits:
    """The run's caps, to divide between processes."""

    parallelism: int
    per_host: int


# What a process reports: ("outcome", one merchant's outcome) as each is known (sent then, not all at
# the end, where pickling them would lengthen the run), ("wait", seconds, label), ("done", requests per
# host) or ("crashed", traceback).
Message = tuple[Any, ...]
# A share of the work (merchant files to plan, or plans to apply), a callback per outcome, one per wait, the
# process's gates; and, when the run is interrupted gently (`on_interrupt`), `stop=`: an Event Ctrl-C sets.
PlanPart = Callable[[list[Any], Callable[[Any], None], Callable[[float, str], None], Gates], None]


def count(environment: str, merchants: int, limits: Limits) -> int:
    """How many processes to plan `merchants` with: 1 unless forking is safe and worth it."""
    if environment == envs.SANDBOX or sys.platform != "linux" or threading.active_count() > 1:
        return 1  # the sandbox lives in this process; forking beside other threads can deadlock
    chosen = os.environ.get(PROCESSES_ENV, "").strip()
    if chosen:
        if not chosen.isdigit() or int(chosen) < 1:
            raise ProvisionerError(f"{PROCESSES_ENV} must be a number of processes (1 or more), not {chosen[:20]!r}")
        wanted = int(chosen)
    else:
        wanted = min(len(os.sched_getaffinity(0)), merchants // MERCHANTS_PER_PROCESS)
    # Each process gets at least one request per host: more processes than a host's cap would exceed it.
    return max(1, min(wanted, merchants, limits.parallelism, limits.per_host))


def plan(paths: Sequence[Any], processes: int, limits: Limits, plan_part: PlanPart, *,
         on_outcome: Callable[[Any], None], on_wait: Callable[[float, str], None], gates: Gates | None,
         on_interrupt: Callable[[], None] | None = None) -> None:
    """Plan `paths` (or apply plans: any items `plan_part` takes) in `processes` forked processes, each
    calling `plan_part` on its share; each merchant's outcome reaches `on_outcome` here, in this process,
    as it is known. `on_interrupt`: Ctrl-C here is told to it, and the processes (which have their own,
    from the terminal) are waited for, to finish what they have under way; without it they are killed."""
    import multiprocessing  # only a fleet large enough for processes needs it
    from multiprocessing.connection import Connection, wait

    context = multiprocessing.get_context("fork")
    # The run-wide cap on requests in flight is one semaphore for every process, not a part each: a
    # process that still has merchants when another is done may then use the whole run's slots.
    slots = context.BoundedSemaphore(limits.parallelism)
    readers: dict[Connection, Any] = {}
    for share in (list(paths[index::processes]) for index in range(processes)):
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(sending, share, _divided(limits, processes, slots), plan_part,
                                                       on_interrupt is not None),
                                  name="provision-plan", daemon=True)
        process.start()
        sending.close()  # the child's end: closed here, so the child's exit is seen as the end of its pipe
        readers[receiving] = process
    try:
        while readers:
            try:
                ready = wait(list(readers))
            except KeyboardInterrupt:
                if on_interrupt is None:
                    raise
                on_interrupt()
                continue
            for reader in ready:
                assert isinstance(reader, Connection)
                try:
                    message: Message = reader.recv()
                except EOFError:
                    process = readers.pop(reader)
                    process.join()
                    raise ProvisionerError(f"a planning process ended without its results (exit code "
                                           f"{process.exitcode}); run again with {PROCESSES_ENV}=1") from None
                if message[0] == "outcome":
                    on_outcome(message[1])
                elif message[0] == "wait":
                    on_wait(message[1], message[2])
                elif message[0] == "crashed":
                    raise RuntimeError(f"a planning process failed:\n{message[1]}")
                else:
                    if gates is not None:
                        gates.count(message[1])
                    readers.pop(reader).join()
                    reader.close()
    finally:
        for reader, process in readers.items():
            process.kill()
            process.join()
            reader.close()


def _divided(limits: Limits, processes: int, slots: Slots | None = None) -> Gates:
    """A process's gates: its part of each host's cap and budget (a host's merchants may be in any
    process), its part of the run's slots to size its work by, and the run's shared slots, if given."""
    return Gates(max(1, limits.per_host // processes), max(1, limits.parallelism // processes),
                 share=1 / processes, slots=slots)


def _child(connection: Connection, paths: list[Any], gates: Gates, plan_part: PlanPart, stoppable: bool) -> None:
    """In the forked process: plan the share, sending what happens as it happens. `stoppable` (an apply):
    from its first instruction, Ctrl-C sets the part's `stop` instead of raising, wherever the process is
    (before its threads start too), so every merchant of the share is still reported, as done, stopped
    after its change in flight, or not started; a planning process just ends, as nothing was changed."""
    sending = threading.Lock()  # waits are reported from the worker threads
    stop = threading.Event()
    if stoppable:
        def interrupted(number: int, frame: object) -> None:
            stop.set()
            log.debug("interrupted: this process starts no other change; those under way finish the one in flight")

        signal.signal(signal.SIGINT, interrupted)

    def send(*message: Any) -> None:
        with sending:
            connection.send(message)

    try:
        run = cast(Callable[..., None], plan_part)
        run(paths, lambda outcome: send("outcome", outcome), lambda seconds, label: send("wait", seconds, label),
            gates, **({"stop": stop} if stoppable else {}))
        send("done", gates.requests())
    except KeyboardInterrupt:
        os._exit(130)
    except BaseException:  # a bug: the parent raises it with this traceback
        send("crashed", traceback.format_exc())
    finally:
        connection.close()
