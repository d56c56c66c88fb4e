"""Write the NPZ bombs of tests/test_input_paths.py: run once, the files are kept in the repo.

Each file holds one member (a probe or the metadata) whose valid .npy header claims, and
whose compressed stream holds, BOMB_MIB MiB of zeros: read whole, it alone would pass the
100 MB bound. Compressing them takes seconds per file, so the test suite reads them here.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from numpy.lib import format as npy_format

BOMB_MIB = 128
METHODS = {"deflate": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2, "lzma": zipfile.ZIP_LZMA}
MEMBERS = ("probeGuess.npy", "_metadata.npy")


def write_bomb(path: Path, method: int, member: str) -> Path:
    """A zip whose member is a valid .npy header followed by BOMB_MIB MiB of zeros."""
    header = io.BytesIO()
    npy_format.write_array_header_1_0(
        header, {"descr": "<c8", "fortran_order": False, "shape": (BOMB_MIB * 2**17,)}
    )
    with (
        zipfile.ZipFile(path, "w", compression=method) as archive,
        archive.open(member, "w", force_zip64=True) as stream,
    ):
        stream.write(header.getvalue())
        zeros = bytes(2**20)
        for _ in range(BOMB_MIB):
            stream.write(zeros)
    return path


if __name__ == "__main__":
    for name, method in METHODS.items():
        for member in MEMBERS:
            write_bomb(Path(__file__).parent / f"{name}-{member}.npz", method, member)
