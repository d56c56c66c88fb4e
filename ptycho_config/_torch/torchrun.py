"""A torchrun launch: Lightning's ``devices`` and ``num_nodes`` from torchrun's variables. The
configs keep what the sources gave, so a run's fingerprint is the same however it is launched
(docs/torch.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ptycho_config._errors import (
    SECRET_SHOWN,
    ConflictError,
    InvalidValueError,
    Problem,
)
from ptycho_config._merge.provenance import Source, ViewsPickled

TORCHRUN_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


@dataclass(frozen=True)
class TorchrunLaunch(ViewsPickled):
    """The process layout torchrun started, and where each Lightning argument came from."""

    world_size: int
    rank: int
    local_rank: int
    local_world_size: int
    provenance: Mapping[str, Source] = field(default_factory=dict, compare=False)

    @property
    def num_nodes(self) -> int:
        """The number of nodes: every node runs LOCAL_WORLD_SIZE processes."""
        return self.world_size // self.local_world_size

    def trainer_kwargs(self) -> dict[str, int]:
        """``devices`` and ``num_nodes`` for ``lightning.Trainer``."""
        return {"devices": self.local_world_size, "num_nodes": self.num_nodes}


def torchrun_launch(
    environ: Mapping[str, str], devices: int | str, devices_source: Source
) -> TorchrunLaunch | None:
    """The torchrun launch ``environ`` describes (None without all four variables); an explicit
    ``execution.devices`` (by its ``devices_source``) that disagrees is an error: Lightning would
    start another number of processes per node than torchrun did."""
    if not all(name in environ for name in TORCHRUN_VARIABLES):
        return None
    world, rank, local_rank, local_world = _layout(environ)
    explicit = devices != "auto" and devices_source.kind != "default"
    if explicit and devices != local_world:
        where = f"{devices_source.kind} {devices_source.detail}".strip()
        shown = SECRET_SHOWN if devices_source.kind == "secret" else devices  # never shows
        problem = ConflictError.problem(
            "execution.devices",
            f"torchrun started {local_world} processes on this node (LOCAL_WORLD_SIZE="
            f"{local_world}); set devices to 'auto' or {local_world}, or launch torchrun "
            f"with --nproc-per-node={shown}",
            shown,
            where,
        )
        raise ConflictError.from_problems([problem], "torchrun launch")
    devices_detail = f"LOCAL_WORLD_SIZE={local_world} (torchrun)"
    if explicit:
        devices_detail += f"; agrees with {devices_source}"
    provenance = {
        "devices": Source("env", devices_detail),
        "num_nodes": Source(
            "env", f"WORLD_SIZE={world} / LOCAL_WORLD_SIZE={local_world} (torchrun)"
        ),
    }
    return TorchrunLaunch(world, rank, local_rank, local_world, MappingProxyType(provenance))


def _layout(environ: Mapping[str, str]) -> tuple[int, int, int, int]:
    """The four variables as integers, checked against torchrun's own invariants."""
    numbers: list[int] = []
    problems: dict[str, Problem] = {}  # a variable's first broken rule
    for name in TORCHRUN_VARIABLES:
        try:
            numbers.append(int(environ[name].strip()))
        except ValueError:
            problems[name] = launch_problem(name, environ[name], "must be an integer")
    if problems:
        raise InvalidValueError.from_problems(list(problems.values()), "torchrun launch")
    world, rank, local_rank, local_world = numbers
    rules = (
        ("WORLD_SIZE", world >= 1, "must be at least 1"),
        (
            "LOCAL_WORLD_SIZE",
            1 <= local_world <= world,
            f"must be between 1 and WORLD_SIZE ({world})",
        ),
        (
            "WORLD_SIZE",
            world % max(local_world, 1) == 0,
            f"must be a multiple of LOCAL_WORLD_SIZE ({local_world})",
        ),
        ("RANK", 0 <= rank < world, f"must be in [0, WORLD_SIZE) = [0, {world})"),
        (
            "LOCAL_RANK",
            0 <= local_rank < local_world,
            f"must be in [0, LOCAL_WORLD_SIZE) = [0, {local_world})",
        ),
    )
    for name, holds, message in rules:
        if not holds:
            problems.setdefault(name, launch_problem(name, environ[name], message))
    if problems:
        raise InvalidValueError.from_problems(list(problems.values()), "torchrun launch")
    return world, rank, local_rank, local_world


def launch_problem(name: str, text: str, message: str) -> Problem:
    hint = "torchrun sets it: unset it, or launch with torchrun"
    return InvalidValueError.problem(name, f"{message}; {hint}", text, f"env {name}")
