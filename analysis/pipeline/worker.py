"""A pre-imported worker that runs ``python -m analysis`` commands without paying imports.

``make report`` runs about fifty ``python -m analysis`` steps (quarterly results,
evaluations, one render per report). Each used to start an interpreter and
import the scientific stack (pandas, SciPy, matplotlib, IPython,
jupytext): about 1,5 seconds of CPU before its first line of work, most of
a quarterly step. With ``ANALYSIS_WORKER=1`` (the Makefile sets it) a step
instead hands its command to a worker process that has imported all of that
once: the worker forks a fresh copy of itself for each command, so every
command still starts from the same clean, freshly imported state, as a new
interpreter would, and two commands of ``make -j2`` run side by side.

The command's standard input, output and error are the caller's own file
descriptors (passed over a Unix socket), so its output and exit status are the
same as when it runs in the calling process; when the caller is interrupted or
killed, the command is stopped (SIGTERM, so its ``finally`` clean-ups run).
The worker belongs to one version of the code: its socket name carries a hash of
the interpreter, the package's source files and the environment variables that
act at import time, so a changed file starts a new worker and the old one is
never asked again. A worker exits after ``IDLE_SECONDS`` without a command, or
when its socket is removed (``make clean``).

Where a worker cannot be used (no ``fork`` or no descriptor passing, as on
Windows, or a socket path longer than the system allows), or the worker fails to
start, the command runs in the calling process as before.
"""

# Imports inside functions: the client half of this module runs at the start of every
# `python -m analysis` command and imports nothing it does not need (fcntl, select, the
# command line: only the worker itself, which imports everything once when it starts).

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from analysis.paths import BUILD_DIR, ROOT

ENABLE = "ANALYSIS_WORKER"
IDLE_SECONDS = 30.0
START_SECONDS = 120.0
# Longest Unix socket path the platforms accept (sun_path is 104 bytes on macOS).
MAX_SOCKET_PATH = 100
# What every command may need, imported once in the worker.
PRELOAD = (
    "analysis.pipeline.cli",
    "analysis.did",
    # analysis.did imports its estimators on first use; the worker imports them all.
    "analysis.did.aggte",
    "analysis.did.attgt",
    "analysis.did.honestdid",
    "analysis.did.inference",
    "analysis.data.validate",
    "analysis.data.synth",
    "analysis.payments.quarterly",
    "analysis.reports.quarterly_view",
    "analysis.reports.stage",
    "analysis.reports.evaluation",
    "analysis.reports.sections",
    "analysis.render.build",
    "analysis.render.show",
    "analysis.render.portal",
    "analysis.sdc.check",
    "analysis.sdc.linked",
    "analysis.sdc.quarterly",
    # What the first validation of an extract imports (pandera's backends, hypothesis).
    "pandera.backends.pandas.register",
    "pandera.backends.pandas.container",
    "pandera.strategies.pandas_strategies",
    "pyarrow.dataset",
    "IPython.core.interactiveshell",
    "IPython.utils.capture",
    "matplotlib.pyplot",
)
# Environment variables read when modules are imported: a worker serves one set of them.
IMPORT_ENVIRONMENT = ("PYTHONHASHSEED", "PYTHONPATH", "MPLBACKEND", "MPLCONFIGDIR", "TZ")
_STATUS = struct.Struct("!i")
# Exit status and the command's CPU seconds (user, system; its own children included).
_RESULT = struct.Struct("!idd")
# A file to which every command run in the worker appends its CPU time and its start and
# end (Unix time), for timings: the commands are the worker's children, so a timer of the
# caller does not see them, and the start and end show the build's critical path.
TIMES = "ANALYSIS_WORKER_TIMES"
ACCEPTED = b"A"


def version_key(root: Path = ROOT) -> str:
    """A hash of what the worker's imported state depends on (12 hex digits)."""
    digest = hashlib.sha256()
    digest.update(sys.executable.encode())
    digest.update(sys.version.encode())
    for name in IMPORT_ENVIRONMENT:
        digest.update(f"{name}={os.environ.get(name)}\n".encode())
    for path in sorted((root / "analysis").rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)} {stat.st_mtime_ns} {stat.st_size}\n".encode())
    # A reinstalled environment changes the site-packages folder's contents.
    site = Path(sys.prefix)
    for marker in sorted(site.glob(".installed*")):
        digest.update(f"{marker.name} {marker.stat().st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def socket_path(root: Path = ROOT) -> Path:
    """Where the worker of this code version listens."""
    return root.joinpath(BUILD_DIR.relative_to(ROOT), "worker", f"{version_key(root)}.sock")


def usable(path: Path) -> bool:
    """Whether this platform and path allow a worker at all."""
    return (
        os.name == "posix"
        and hasattr(os, "fork")
        and hasattr(socket, "send_fds")
        and len(os.fsencode(path)) <= MAX_SOCKET_PATH
    )


# --------------------------------------------------------------------------- client


def _connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.fspath(path))
    except OSError:
        sock.close()
        return None
    return sock


def _start(path: Path) -> socket.socket | None:
    """Start a worker for ``path`` (one at a time: a lock file) and connect to it."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _connect(path)
        if sock is not None:
            return sock
        process = subprocess.Popen(
            [sys.executable, "-m", "analysis.pipeline.worker", os.fspath(path)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return None
            sock = _connect(path)
            if sock is not None:
                return sock
            time.sleep(0.05)
    return None


def run(argv: list[str]) -> int | None:
    """Run ``python -m analysis argv`` in the worker; None when it cannot be used."""
    path = socket_path()
    if not usable(path):
        return None
    started = time.time()
    sock = _connect(path) or _start(path)
    if sock is None:
        return None
    request = json.dumps(
        {"argv": argv, "argv0": sys.argv[0], "cwd": os.getcwd(), "env": dict(os.environ)}
    ).encode()
    with sock:
        try:
            socket.send_fds(sock, [_STATUS.pack(len(request)) + request], [0, 1, 2])
            # A worker that was just exiting (idle) closes without taking the command.
            if sock.recv(1) != ACCEPTED:
                return None
        except OSError:
            return None
        # An interrupted or killed caller closes the socket; the worker then stops the command.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        reply = b""
        while len(reply) < _RESULT.size:
            chunk = sock.recv(_RESULT.size - len(reply))
            if not chunk:
                print("error: the analysis worker stopped unexpectedly", file=sys.stderr)
                return 1
            reply += chunk
    status, user, system = _RESULT.unpack(reply)
    if os.environ.get(TIMES):
        with open(os.environ[TIMES], "a", encoding="utf-8") as times:
            times.write(
                f"{user:.2f} {system:.2f} {started:.2f} {time.time():.2f} {' '.join(argv)}\n"
            )
    return status


# --------------------------------------------------------------------------- worker


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    size = _STATUS.unpack(data[: _STATUS.size])[0]
    body = data[_STATUS.size :]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("incomplete request")
        body += chunk
    return json.loads(body), fds


def _command(request: dict, fds: list[int]) -> None:
    """In the forked command process: become the caller's ``python -m analysis``."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request["argv0"], *request["argv"]]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    status = 1
    try:
        from analysis.pipeline.cli import main

        status = main(request["argv"])
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback

        from analysis.data.cpr import safe_message

        # A traceback can quote data values: masked like every other message.
        sys.stderr.write(safe_message(traceback.format_exc()))
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _serve_one(conn: socket.socket) -> None:
    """In a forked child of the worker: run one command and report its exit status."""
    request, fds = _receive(conn)
    conn.sendall(ACCEPTED)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _command(request, fds)
    for fd in fds:
        os.close(fd)
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        # The caller went away (interrupted, killed): stop the command.
        import select

        readable, _, _ = select.select([conn], [], [], 0.2)
        if readable and not conn.recv(1, socket.MSG_PEEK):
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            return
    with contextlib.suppress(OSError):
        conn.sendall(
            _RESULT.pack(os.waitstatus_to_exitcode(status), usage.ru_utime, usage.ru_stime)
        )


def serve(path: Path) -> None:
    """Import everything, listen on ``path``, fork a child per command, exit when idle."""
    import importlib
    import select

    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in PRELOAD:
        importlib.import_module(name)
    # The imported modules live as long as every command: out of the garbage
    # collector's sight, a command's collections (IPython's reset runs two, pandas
    # and the estimators many) no longer walk them each time (about 0,2 s each), and
    # the forked commands do not copy the pages a collection would touch.
    gc.collect()
    gc.freeze()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.fspath(path))
    server.listen(16)
    inode = path.stat().st_ino
    # Children are reaped by the system; a command's own child is waited for in _serve_one.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    last = time.monotonic()
    while True:
        readable, _, _ = select.select([server], [], [], 1.0)
        if readable:
            conn, _ = server.accept()
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                server.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                status = 0
                try:
                    _serve_one(conn)
                except BaseException:
                    status = 1
                finally:
                    os._exit(status)
            conn.close()
            last = time.monotonic()
            continue
        try:
            replaced = path.stat().st_ino != inode
        except FileNotFoundError:
            replaced = True
        if replaced or time.monotonic() - last > IDLE_SECONDS:
            with contextlib.suppress(FileNotFoundError):
                if not replaced:
                    path.unlink()
            return


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
