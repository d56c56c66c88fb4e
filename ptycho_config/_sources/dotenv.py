"""Reading a .env file (docs/containers.md); ``environment.py`` makes its PTYCHO_* variables a
layer of kind dotenv.

Read through the guarded open of every file and parsed by python-dotenv's parser; values are
taken literally (expanding ``${VAR}`` could grow a small file without bound).
"""

from __future__ import annotations

import io
from pathlib import Path

from ptycho_config._errors import FileReadError, InvalidValueError, InvalidValueProblem, shorten
from ptycho_config._files import SETTINGS_FILE_CAP, missing, read_capped

# Far above any real .env file; bounds the work of parsing one.
MAX_DOTENV_LINES = 5_000


def read_dotenv(path: Path) -> dict[str, str | None]:
    """The variables of a .env file, as spelled there (None for a line without '=')."""
    from dotenv.parser import parse_stream

    try:
        text = read_capped(path, "env file", SETTINGS_FILE_CAP).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError) as error:
        raise missing(path, "env file") from error
    except UnicodeDecodeError as error:
        raise FileReadError.of(path, "env file", f"it is not UTF-8 text ({error})") from error
    # python-dotenv's parser is pure Python, and ends a line at \r\n, \n or a lone \r
    if text.count("\n") + text.count("\r") - text.count("\r\n") > MAX_DOTENV_LINES:
        reason = f"it has more than {MAX_DOTENV_LINES} lines, the limit for an env file"
        raise FileReadError.of(path, "env file", reason)
    lines: dict[str, str | None] = {}
    problems = []
    for binding in parse_stream(io.StringIO(text)):
        where = f"dotenv {path}:{binding.original.line}"
        if binding.error:
            line = shorten(binding.original.string.strip(), 60)
            problems.append(InvalidValueProblem("env file", f"cannot parse {line!r}", source=where))
        elif binding.key is not None and binding.key in lines:
            problem = "given twice in one .env file; give it once"
            problems.append(InvalidValueProblem(shorten(binding.key), problem, source=where))
        elif binding.key is not None:
            lines[binding.key] = binding.value
    if problems:
        raise InvalidValueError.from_problems(problems, "env file")
    return lines
