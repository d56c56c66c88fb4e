"""Child processes for the multi-process tests: bounded waits, nothing left running.

Every child starts in a session of its own, so it and whatever it starts (Lightning's DDP
launcher starts the other ranks) form one process group that can be waited on and killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def same_code() -> dict[str, str]:
    """The parent's PYTHONPATH, if any, so that a child runs the code the parent tests (the
    mutation check puts a mutated copy of the tree there)."""
    found = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": found} if found else {}


def base_environment(**extra: str) -> dict[str, str]:
    """A clean environment for a child: no PTYCHO_* from the host, loopback networking."""
    return {
        **same_code(),
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "MASTER_ADDR": "127.0.0.1",
        "GLOO_SOCKET_IFNAME": "lo",
        # one thread per process: two ranks share the machine's few cores
        "OMP_NUM_THREADS": "1",
        **extra,
    }


@dataclass(frozen=True)
class Finished:
    """A child's exit status and output, and what of its process group outlived it."""

    returncode: int
    stdout: str
    stderr: str
    leftover: list[int]


def run_all(
    commands: Sequence[Sequence[str]],
    environments: Sequence[Mapping[str, str]],
    timeout: float,
    cwd: Path = ROOT,
) -> list[Finished]:
    """Run the commands at once; wait at most ``timeout`` seconds in all; kill what remains.

    What of a child's process group still runs 10 s after the child ended is reported in
    ``leftover`` (and then killed).

    Raises ``subprocess.TimeoutExpired`` when they are not done in time, after killing them.
    """
    children: list[subprocess.Popen[str]] = []
    deadline = time.monotonic() + timeout
    try:
        for command, environment in zip(commands, environments, strict=True):
            children.append(
                subprocess.Popen(
                    [sys.executable, *command],
                    env=dict(environment),
                    cwd=cwd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
        finished = []
        for child in children:
            out, err = child.communicate(timeout=max(0.1, deadline - time.monotonic()))
            leftover = wait_until_gone(child.pid, timeout=10)
            finished.append(Finished(child.returncode, out, err, leftover))
        return finished
    finally:
        for child in children:
            _kill_group(child.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.communicate(timeout=5)


def live_members(group: int) -> list[int]:
    """The processes of a process group that are still running (zombies excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # the fields after the command name, which may itself hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


def wait_until_gone(group: int, timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for a process group to empty; what is still running."""
    deadline = time.monotonic() + timeout
    while (left := live_members(group)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
