"""`kam serve` in more than one process: waitress runs the requests of one process on
its threads, but Python runs one thread at a time, so one process uses one core. With
`--workers N` (POSIX) the parent binds the listening sockets, forks N processes that
each run waitress on those same sockets (the kernel hands each connection to one of
them), restarts a process that dies, and stops them all on SIGTERM or Ctrl+C.

Nothing the requests share lives in a process's memory: sessions, sign-in failures and
the kept assessments are rows in the database, and the methodology files are read at
start-up by every process alike."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable

# A process that dies this soon after it started is failing to start, not crashing on
# a request; this many such deaths in a row stop the server instead of forking forever.
EARLY_S = 5.0
EARLY_DEATHS = 3


def default_workers() -> int:
    """One process per core, at most 4 (each keeps its own copy of what it computed);
    1 where there is no fork (Windows)."""
    if not hasattr(os, "fork"):
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def listen(host: str, port: int, backlog: int = 1024) -> list[socket.socket]:
    """Listening sockets for every address `host` names (127.0.0.1, ::1, a name)."""
    sockets: list[socket.socket] = []
    seen: set[tuple] = set()
    try:
        for family, kind, proto, _name, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            if os.name != "nt":  # on Windows this would let two servers share the port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sockets.append(sock)
            sock.bind(address)
            sock.listen(backlog)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def supervise(run: Callable[[], None], workers: int, say: Callable[[str], None]) -> int:
    """Fork `workers` processes that each call `run()`; fork another when one dies,
    stop them all on SIGTERM, SIGINT or SIGHUP. The exit status: 0 when stopped, 1 when
    the processes keep dying as they start."""
    children: dict[int, float] = {}
    stopping = False
    early = 0

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the child: the server, with the signals' default behaviour
            for sig in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            code = 0
            try:
                run()
            except KeyboardInterrupt:
                pass
            except BaseException:  # noqa: BLE001 — say why, then end this process only
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = time.monotonic()

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    for _ in range(workers):
        spawn()
    failed = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        started = children.pop(pid, None)
        if started is None or stopping:
            continue
        early = early + 1 if time.monotonic() - started < EARLY_S else 0
        if early >= EARLY_DEATHS:
            say(
                f"KAM: server processes end as soon as they start ({EARLY_DEATHS} in a row, "
                "see above); stopping."
            )
            failed = True
            stop(signal.SIGTERM, None)
            continue
        say(f"KAM: server process {pid} ended ({_how(status)}); starting another.")
        spawn()
    return 1 if failed else 0


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"signal {signal.Signals(number).name}"
        except ValueError:
            return f"signal {number}"
    return f"exit status {os.WEXITSTATUS(status)}"
