"""The public object policy: how the object is laid out and assembled during training.

``object_layout`` and ``training_canvas`` name the policy; ``object_big`` is the older
boolean spelling of the same choice (True: grouped patches on a relative-overlap canvas).
Nothing set means the grouped policy. The rules and messages are PtychoPINN's.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from ptycho_config._schemas.types import CrossFieldRule

ObjectLayout = Literal["single_patch", "grouped_patches"]
TrainingCanvas = Literal["independent", "relative_overlap"]
PatchWeighting = Literal["central_mask", "uniform", "probe"]

# object_big -> the (layout, canvas) pair it means; the only two supported pairs.
PAIRS: dict[bool, tuple[str, str]] = {
    False: ("single_patch", "independent"),
    True: ("grouped_patches", "relative_overlap"),
}
DEFAULT_OBJECT_BIG = True
DEFAULT_WEIGHTING = "central_mask"
DEPRECATION = "ModelConfig.object_big is deprecated; use object_layout and training_canvas"


def check_choices(layout: object, canvas: object, weighting: object) -> None:
    """ValueError for a layout, canvas or weighting outside its choices (None is allowed)."""
    if layout is not None and layout not in get_args(ObjectLayout):
        raise ValueError(f"unsupported object_layout {layout!r}")
    if canvas is not None and canvas not in get_args(TrainingCanvas):
        raise ValueError(f"unsupported training_canvas {canvas!r}")
    if weighting is not None and weighting not in get_args(PatchWeighting):
        raise ValueError(
            "training_patch_weighting must be 'central_mask', 'uniform', or 'probe', "
            f"got {weighting!r}"
        )


def resolve_pair(object_big: bool | None, layout: str | None, canvas: str | None) -> bool:
    """The ``object_big`` a (possibly partial) policy means; ValueError when it is incoherent."""
    if (layout is None) != (canvas is None):
        raise ValueError("object_layout and training_canvas must be supplied together")
    if layout is None:
        return DEFAULT_OBJECT_BIG if object_big is None else object_big
    pair = (layout, canvas)
    big = next((flag for flag, known in PAIRS.items() if known == pair), None)
    if big is None:
        raise ValueError(f"unsupported object_layout/training_canvas pair {pair!r}")
    if object_big is not None and object_big != big:
        raise ValueError(f"object_big={object_big!r} conflicts with object_layout={layout!r}")
    return big


def resolved_policy(model: Any) -> dict[str, Any]:
    """The four policy fields of a model config (or alike), resolved: what the backends use."""
    big = resolve_pair(model.object_big, model.object_layout, model.training_canvas)
    layout, canvas = PAIRS[big]
    weighting = model.training_patch_weighting or DEFAULT_WEIGHTING
    return {
        "object_big": big,
        "object_layout": layout,
        "training_canvas": canvas,
        "training_patch_weighting": weighting,
    }


def _holds(model: Any, check: str) -> bool:
    layout, canvas = model.object_layout, model.training_canvas
    if check == "together":
        return (layout is None) == (canvas is None)
    big = next((flag for flag, pair in PAIRS.items() if pair == (layout, canvas)), None)
    if check == "pair":
        return layout is None or canvas is None or big is not None
    return model.object_big is None or big is None or model.object_big == big


# The same rules as `resolve_pair`, as schema rules (reported with every other problem).
OBJECT_POLICY_RULES = (
    CrossFieldRule(
        ("object_layout", "training_canvas"),
        lambda m: _holds(m, "together"),
        "object_layout and training_canvas must be supplied together",
    ),
    CrossFieldRule(
        ("object_layout", "training_canvas"),
        lambda m: _holds(m, "pair"),
        "unsupported object_layout/training_canvas pair: use ('single_patch', 'independent') "
        "or ('grouped_patches', 'relative_overlap')",
    ),
    CrossFieldRule(
        ("object_big", "object_layout"),
        lambda m: _holds(m, "agree"),
        "object_big conflicts with object_layout (True means 'grouped_patches')",
    ),
)
