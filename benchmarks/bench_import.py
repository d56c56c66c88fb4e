"""`import ptycho_config` in a fresh process: at most 1.5x `import pydantic_settings` alone."""

from __future__ import annotations

import subprocess
import sys

from _timing import in_process_seconds, interleaved_medians, report


def main() -> bool:
    medians = interleaved_medians(
        {"pydantic_settings": "import pydantic_settings", "ptycho_config": "import ptycho_config"},
        repeat=15,
        measure=in_process_seconds,
    )
    ratio = medians["ptycho_config"] / medians["pydantic_settings"]
    detail = f"(ptycho_config {medians['ptycho_config'] * 1e3:.1f} ms, "
    detail += f"pydantic_settings {medians['pydantic_settings'] * 1e3:.1f} ms)"
    ok = report("import ratio", ratio, 1.5, "x", detail)
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, ptycho_config; "
         "print(sorted({'torch', 'tensorflow'} & set(sys.modules)))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    print(f"{'ok  ' if heavy == '[]' else 'OVER'} heavy modules imported: {heavy}")
    return ok and heavy == "[]"


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
