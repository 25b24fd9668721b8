"""One writer per output: `toolkit make` holds `OUT/_lock` for the whole build.

Two builds writing one folder corrupt each other (each deletes the other's scratch files; the recipe and
plan come from one, the data from the other), so the second is refused with one line naming the holder
(user, host, pid, start time, command).

**Local disks**: the lock is a `flock` on `OUT/_lock`. The kernel releases it when the holder dies,
however it dies (SIGKILL, OOM killer, power loss of a local machine), so a stale lock is taken over by
the next build without any guessing; the file's JSON content only says who holds it. The file is
removed when the build ends; the usual unlink race (a waiter locking a file that was just unlinked) is
closed by checking, once locked, that the path still names the locked file.
On NFS, `flock` is mapped to POSIX byte-range locks by Linux (v4 and v3 with lockd), which also end
with the holder's process.

**Object stores and other fsspec filesystems** have no lock primitive fsspec can use, so the lock is
advisory: `OUT/_lock` is written with the holder and checked first. A lock from this host whose pid is
gone (or is another process now: the start time differs) is stale and taken over; a lock from another
host is refused, naming it; delete `OUT/_lock` by hand if that build is known to be dead. The check and
the write are not atomic, so two builds started within the same second can both proceed: start one
build per output prefix.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
import sys
import uuid

from toolkit.errors import ToolkitError
from toolkit.store.atomic import AtomicFolder

LOCK_FILE = "_lock"


class BuildLocked(ToolkitError):
    """Another build holds this output."""


def _is_local(out: AtomicFolder) -> bool:
    protocols = (out.fs.protocol,) if isinstance(out.fs.protocol, str) else tuple(out.fs.protocol)
    return "file" in protocols or "local" in protocols


def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot): tells a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _process_start(pid)
    return start is None or now is None or now == start


def _holder() -> dict:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "pid": os.getpid(),
            "process_start": _process_start(os.getpid()),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:300], "token": uuid.uuid4().hex}


def describe(holder: dict) -> str:
    return (f"{holder.get('user', '?')}@{holder.get('host', '?')} pid {holder.get('pid', '?')}, "
            f"started {holder.get('started', '?')}: {holder.get('command', '?')}")


class BuildLock:
    """`with BuildLock(out): ...` holds the output for one build."""

    def __init__(self, out: AtomicFolder):
        self.out = out
        self.info = _holder()
        self._fd: int | None = None

    def __enter__(self) -> "BuildLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # --- local: flock ------------------------------------------------------------------------------

    def acquire(self) -> None:
        self.out.fs.makedirs(self.out.root, exist_ok=True)
        if _is_local(self.out):
            self._acquire_flock()
        else:
            self._acquire_advisory()

    def _acquire_flock(self) -> None:
        import fcntl

        path = self.out.path(LOCK_FILE)
        for _ in range(100):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held = _read_holder(fd)
                os.close(fd)
                raise BuildLocked(f"{self.out.url}: another build is writing this output ({describe(held)}); "
                                  "wait for it to finish, or choose another --out") from None
            try:  # the file we locked may have been unlinked by a finishing holder: lock the new one
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    os.close(fd)
                    continue
            except FileNotFoundError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(self.info, indent=1) + "\n").encode())
            self._fd = fd
            return
        raise BuildLocked(f"{self.out.url}: could not take the build lock (it keeps changing hands)")

    # --- other filesystems: advisory file ------------------------------------------------------------

    def _acquire_advisory(self) -> None:
        if self.out.exists(LOCK_FILE):
            try:
                held = json.loads(self.out.read_bytes(LOCK_FILE))
            except (ValueError, OSError):
                held = {}
            same_host = held.get("host") == socket.gethostname()
            pid = held.get("pid")
            stale = same_host and isinstance(pid, int) and not _alive(pid, held.get("process_start"))
            if not stale:
                hint = ("" if same_host else
                        f"; if that build is dead, delete {self.out.path(LOCK_FILE)} and re-run")
                raise BuildLocked(f"{self.out.url}: another build is writing this output ({describe(held)}){hint}")
        self.out.write_json(LOCK_FILE, self.info)

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            try:
                os.unlink(self.out.path(LOCK_FILE))
            except FileNotFoundError:
                pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        elif not _is_local(self.out) and self.out.exists(LOCK_FILE):
            try:
                mine = json.loads(self.out.read_bytes(LOCK_FILE)).get("token") == self.info["token"]
            except (ValueError, OSError):
                mine = False
            if mine:
                self.out.rm(LOCK_FILE)


def _read_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 65536) or b"{}")
    except (OSError, ValueError):
        return {}
