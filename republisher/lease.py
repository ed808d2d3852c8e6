"""Who fetches: this process's holder id, and whether the holder named by a lease or claim still lives.

A holder id is `host:pid:start`. The start is the process's start time as the kernel counts it, so a pid
the system has given to another process since does not pass for the holder that died.
"""

import os
import socket
import time

_identity: dict[int, str] = {}


def holder_id() -> str:
    """This process's holder id (computed again after a fork, since the pid changes)."""
    pid = os.getpid()
    if pid not in _identity:
        _identity[pid] = f"{socket.gethostname()}:{pid}:{process_start(pid) or int(time.time())}"
    return _identity[pid]


def parse_holder(holder: str) -> tuple[str, int, str] | None:
    """(host, pid, start) of a holder id, or None when it is not one."""
    host, _, rest = (holder or "").rpartition(":")
    host, _, pid = host.rpartition(":")
    if not host or not pid.isdigit():
        return None
    return host, int(pid), rest


def process_start(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot, from /proc; None where it cannot be read."""
    fields = _proc_stat(pid)
    return fields[19] if fields else None


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    # the command name is in parentheses and may itself hold spaces and parentheses
    return text[text.rfind(")") + 2:].split()


def is_alive(holder: str | None) -> bool:
    """Whether a holder may still be running: False only when it is certainly gone.

    A holder on another host is taken to live until its lease or claim expires. On this host, a pid that
    no longer exists, a zombie, or a pid that now belongs to a process started at another time is dead.
    """
    parsed = parse_holder(holder or "")
    if parsed is None:
        return False
    host, pid, start = parsed
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    fields = _proc_stat(pid)
    if fields is None:
        return True
    return fields[0] != "Z" and fields[19] == start
