"""Multi-process runs: every rank must train the same configuration (docs/torch.md). Every
wait is a collective of the process group, bounded by its ``timeout``; torch is imported inside
the functions."""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ptycho_config._errors import (
    ConfigMismatchError,
    InvalidValueError,
    Problem,
    show,
)
from ptycho_config._factories.snapshot import SNAPSHOT_NAME, fingerprint, run_values, save_snapshot
from ptycho_config._torch.torchrun import launch_problem

if TYPE_CHECKING:
    import torch
    from torch.distributed import ProcessGroup

__all__ = ["ConfigMismatchError", "is_primary", "save_snapshot_once", "verify_consistent"]

_ABSENT = "<absent>"


def verify_consistent(payload: Any, group: ProcessGroup | None = None) -> str:
    """This rank's fingerprint, once every rank of ``group`` is known to have the same one.

    Else :class:`ConfigMismatchError` on every rank, naming the ranks, each differing key and
    each rank's value and source. A collective: every rank of the group must call it.
    """
    mine = fingerprint(payload)
    dist = _initialised()
    if dist is None or dist.get_world_size(group) == 1:
        return mine
    digests = _all_digests(mine, group)
    if len(set(digests)) == 1:
        return mine
    # the slow path: only a run that is about to fail pays for gathering whole configurations
    values = run_values(payload)
    provenance: Mapping[str, Any] = getattr(payload, "provenance", {}) or {}
    sources = {key: _where(src) for key, src in provenance.items() if key in values}
    everyone: list[Any] = [None] * len(digests)
    document = {"fingerprint": mine, "values": values, "sources": sources}
    dist.all_gather_object(everyone, document, group=group)
    raise _mismatch_error(everyone)


def _all_digests(mine: str, group: ProcessGroup | None) -> list[bytes]:
    """Every rank's SHA-256 of its fingerprint, by rank: one all_gather of 32 bytes each."""
    import torch
    import torch.distributed as dist

    sha = list(hashlib.sha256(mine.encode()).digest())
    digest = torch.tensor(sha, dtype=torch.uint8, device=_device(group))
    digests = [torch.empty_like(digest) for _ in range(dist.get_world_size(group))]
    dist.all_gather(digests, digest, group=group)
    return [bytes(d.cpu().tolist()) for d in digests]


def _mismatch_error(ranks: Sequence[Mapping[str, Any]]) -> ConfigMismatchError:
    """The error for ranks that disagree, the same on every rank (from the same documents)."""
    by_fingerprint: dict[str, list[int]] = {}  # in the order of each one's first rank
    for rank, document in enumerate(ranks):
        by_fingerprint.setdefault(document["fingerprint"], []).append(rank)
    keys = sorted({key for document in ranks for key in document["values"]})
    problems: list[Problem] = []
    for key in keys:
        seen = [
            (document["values"].get(key, _ABSENT), document["sources"].get(key, ""))
            for document in ranks
        ]
        if len({repr(value) for value, _ in seen}) > 1:
            problems.append(_difference(key, seen))
    if not problems:  # e.g. two versions of ptycho-config that fingerprint differently
        problems.append(Problem("fingerprint", "the ranks compute different fingerprints"))
    groups = "; ".join(f"{_ranks(members)}: {value}" for value, members in by_fingerprint.items())
    count = len(problems)
    lines = "\n".join(f"  - {p}" for p in problems)
    message = (
        f"the {len(ranks)} ranks of this distributed run resolved different configurations "
        f"({groups}); {count} {'key differs' if count == 1 else 'keys differ'}:\n{lines}\n"
        "give every process the same environment, files and overrides"
    )
    return ConfigMismatchError(message, problems)


def is_primary(group: ProcessGroup | None = None) -> bool:
    """Whether this is rank 0 of ``group``, or before a group exists by ``RANK`` (unset: yes)."""
    dist = _initialised()
    if dist is not None:
        return bool(dist.get_rank(group) == 0)
    rank = os.environ.get("RANK", "0").strip() or "0"
    try:
        return int(rank) == 0
    except ValueError:
        problem = launch_problem("RANK", rank, "must be an integer")
        raise InvalidValueError.from_problems([problem], "distributed launch") from None


def save_snapshot_once(
    payload: Any, directory: str | os.PathLike[str], group: ProcessGroup | None = None
) -> Path:
    """Rank 0 writes the snapshot; the others wait for it. Every rank returns its path.

    A collective. When rank 0 fails, it raises its own error and the others ``RuntimeError``
    instead of going on without a snapshot.
    """
    dist = _initialised()
    if dist is None or dist.get_world_size(group) == 1:
        return save_snapshot(payload, directory)
    import torch

    failure: BaseException | None = None
    if dist.get_rank(group) == 0:
        try:
            save_snapshot(payload, directory)
        except Exception as error:  # the others must learn of it, or they would go on
            failure = error
    # the broadcast is the barrier, and it tells the others whether rank 0 succeeded
    status = torch.tensor([int(failure is not None)], dtype=torch.int32, device=_device(group))
    source = 0 if group is None else dist.get_global_rank(group, 0)
    dist.broadcast(status, src=source, group=group)
    if failure is not None:
        raise failure
    target = Path(directory) / SNAPSHOT_NAME
    if int(status.item()):
        raise RuntimeError(f"rank 0 failed to write the snapshot {target}; see rank 0's error")
    return target


def _difference(key: str, seen: list[tuple[Any, str]]) -> Problem:
    """One key's values across the ranks, ranks with the same value and source together."""
    together: dict[tuple[str, str], tuple[Any, list[int]]] = {}
    for rank, (value, source) in enumerate(seen):
        together.setdefault((repr(value), source), (value, []))[1].append(rank)
    parts = []
    for (_, source), (value, members) in together.items():
        shown = value if value == _ABSENT else show(value)
        verb = "has" if len(members) == 1 else "have"
        parts.append(f"{_ranks(members)} {verb} {shown}" + (f" (from {source})" if source else ""))
    return Problem(key, "differs between ranks: " + "; ".join(parts))


def _where(source: Any) -> str:
    """'env PTYCHO_NEIGHBOR_COUNT', 'file run.yaml', 'default'."""
    if source.kind == "default":
        return "default"
    return f"{source.kind} {source.detail}".strip()


def _ranks(members: list[int]) -> str:
    """'rank 3' or 'ranks 0-2, 5'."""
    spans: list[str] = []
    # consecutive ranks share their distance from their position in the sorted list
    for _, run in itertools.groupby(enumerate(members), key=lambda pair: pair[1] - pair[0]):
        first, *rest = (rank for _, rank in run)
        spans.append(f"{first}-{rest[-1]}" if rest else str(first))
    noun = "rank" if len(members) == 1 else "ranks"
    return f"{noun} {', '.join(spans)}"


def _initialised() -> Any:
    """``torch.distributed`` when a default process group is up, else None (torch optional)."""
    # no process group can exist before torch.distributed is loaded: no import just to ask
    dist = sys.modules.get("torch.distributed")
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def _device(group: ProcessGroup | None) -> torch.device:
    """Where the group's collectives want their tensors: the current GPU for nccl."""
    import torch
    import torch.distributed as dist

    backend = str(dist.get_backend(group))
    if "nccl" in backend and "gloo" not in backend:
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
