"""Run one function in a child process under CPU, memory and wall-clock budgets, passing plain values.

A thread cannot be stopped; a process can. Children are forked from a forkserver started once, with
the pipeline imported, so a child costs a fork and never inherits the locks of a threaded parent. A
child ends itself when its parent dies, so a killed fetcher leaves no writer behind.
"""

import multiprocessing
import os
import resource
import signal
import threading
from dataclasses import dataclass

from .errors import BudgetExceededError

PRELOAD = ["republisher.ingest"]
POLL_SECONDS = 0.25  # how soon a cancel is noticed
EXIT_GRACE_SECONDS = 5
_context = None
_context_lock = threading.Lock()


@dataclass(frozen=True)
class Budget:
    """What one child may use."""

    cpu_seconds: int
    wall_seconds: float
    memory_bytes: int | None = None


def context():
    """The forkserver context shared by every call in this process."""
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
    return _context


def run(function, args: tuple, budget: Budget, cancel: threading.Event | None = None):
    """function(*args) in a child process; its return value, or BudgetExceededError when it was stopped.

    An exception in the child comes back as BudgetExceededError only when a budget ended it; any other
    comes back as RuntimeError with its one-line description.
    """
    ctx = context()
    results, results_child = ctx.Pipe(duplex=False)
    alive_child, alive = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(function, args, budget, results_child, alive_child), daemon=True)
    process.start()
    results_child.close()
    alive_child.close()
    try:
        return _wait(process, results, budget, cancel)
    finally:
        process.join(EXIT_GRACE_SECONDS)  # an answered child is only closing its connection
        if process.is_alive():
            process.kill()
        process.join()
        results.close()
        alive.close()


def _wait(process, results, budget: Budget, cancel):
    """The child's answer, or the error that says which budget stopped it."""
    waited = 0.0
    while not results.poll(POLL_SECONDS):
        waited += POLL_SECONDS
        if cancel is not None and cancel.is_set():
            process.kill()
            raise BudgetExceededError("stopped: the fetcher is shutting down")
        if waited >= budget.wall_seconds:
            process.kill()
            raise BudgetExceededError(f"stopped: still running after {budget.wall_seconds:g} s "
                                      "(wall-clock budget per source)")
    try:
        kind, value = results.recv()
    except (EOFError, OSError):
        process.join()
        raise _ended_error(process.exitcode, budget) from None
    if kind == "error":
        raise RuntimeError(value)
    return value


def _ended_error(exitcode: int | None, budget: Budget) -> BudgetExceededError:
    """Why a child ended without an answer, in one line."""
    if exitcode == -signal.SIGXCPU:
        return BudgetExceededError(f"stopped: used more than {budget.cpu_seconds} s of CPU (CPU budget per source)")
    if exitcode == -signal.SIGKILL:
        return BudgetExceededError("stopped: killed, at the hard limit of its CPU budget or by the system")
    if exitcode == MEMORY_EXIT:
        return BudgetExceededError(f"stopped: needed more than {budget.memory_bytes // 2**20} MiB "
                                   "(memory budget per source)")
    return BudgetExceededError(f"stopped: the process ended with code {exitcode} before it answered")


MEMORY_EXIT = 75
PARENT_GONE_EXIT = 76


def _child(function, args, budget: Budget, results, alive) -> None:
    """The child: limits first, a watch on the parent, then the work; the answer goes back through the pipe."""
    _limit(budget)
    threading.Thread(target=_exit_when_parent_dies, args=(alive,), daemon=True).start()
    try:
        answer = ("ok", function(*args))
    except MemoryError:
        os._exit(MEMORY_EXIT)
    except BaseException as exc:  # the parent reports it; the child must answer whatever happened
        answer = ("error", f"{type(exc).__name__}: {exc}")
    try:
        results.send(answer)
    except MemoryError:
        os._exit(MEMORY_EXIT)


def _limit(budget: Budget) -> None:
    """Apply the CPU and memory budgets to this process; no core files."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = max(int(budget.cpu_seconds), 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if budget.memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (budget.memory_bytes, budget.memory_bytes))


def _exit_when_parent_dies(alive) -> None:
    """Block until the parent's end of the pipe closes, then end at once, mid-write or not."""
    try:
        alive.recv()
    except (EOFError, OSError):
        pass
    os._exit(PARENT_GONE_EXIT)
