"""The command line's checks on the files it reads and writes, made before any work starts.

Outputs are written atomically (a temporary file renamed over the target),
which is safe for a regular file but not for everything a path can name:
renaming over a symbolic link replaces the link, over a device node or FIFO
replaces the node, and an output that names an input destroys the data the
command was given, even with --force.  So an output must be a regular file
(or not exist yet), in an existing folder, distinct from every input and from
the other outputs.  Inputs must be regular files: opening a FIFO would block
for ever, so the kind of file is checked with os.stat first.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from app.errors import UserInputError


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_inputs(inputs: Mapping[str, str | None]) -> None:
    """Every given input (option → path) is an existing regular file; never opens it."""
    for option, name in inputs.items():
        if name is None:
            continue
        try:
            mode = os.stat(name).st_mode  # follows links; a FIFO is not opened, so this never blocks
        except FileNotFoundError:
            continue  # the reader says "does not exist" in its own words
        except OSError as exc:
            raise UserInputError(f"{option} '{name}' cannot be read: {exc.strerror}.") from None
        kind = _kind(mode)
        if kind is not None:
            raise UserInputError(f"{option} '{name}' is {kind}, not a file; give the path of a file.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_outputs(
    outputs: Mapping[str, str | None],
    *,
    inputs: Mapping[str, str | None],
    force: bool,
    replaceable: frozenset[str] = frozenset(),
) -> None:
    """Refuse outputs (option → path) that would clobber something; `--force` only allows replacing a regular file.

    `replaceable` names outputs that are replaced without --force (the report's CSV tables).
    """
    given = {option: Path(name) for option, name in outputs.items() if name is not None}
    sources = {option: Path(name) for option, name in inputs.items() if name is not None}
    for option, path in given.items():
        for source_option, source in sources.items():
            if _same_file(path, source):
                raise UserInputError(
                    f"{option} '{path}' is the same file as {source_option}; the output would overwrite the input "
                    "(even with --force). Give the output another name."
                )
        try:
            info = path.lstat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise UserInputError(f"{option} '{path}' cannot be checked: {exc.strerror}.") from None
        if info is not None:
            if stat.S_ISLNK(info.st_mode):
                raise UserInputError(
                    f"{option} '{path}' is a symbolic link; it is not replaced, even with --force. Give the path "
                    "of a regular file (or of the link's target)."
                )
            kind = _kind(info.st_mode)
            if kind is not None:
                raise UserInputError(f"{option} '{path}' is {kind}; give the name of a file to write to.")
            if not force and option not in replaceable:
                raise UserInputError(
                    f"{option} '{path}' already exists; choose another name or add --force to replace it."
                )
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise UserInputError(f"the folder '{folder}' for {option} '{path.name}' does not exist; create it first.")
    options = list(given)
    for i, first in enumerate(options):
        for second in options[i + 1 :]:
            if _same_file(given[first], given[second]):
                raise UserInputError(
                    f"{first} and {second} name the same file '{given[first]}'; outputs must be different files: give each its own name."
                )


def check_text_arguments(arguments: Mapping[str, str | None]) -> None:
    """Command-line text must be valid text: bytes that are not UTF-8 arrive as lone surrogates."""
    for option, value in arguments.items():
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UserInputError(
                f"{option} contains bytes that are not UTF-8 text; type it again (or set the terminal to UTF-8)."
            ) from None


def check_text_tree(data: object, where: str, path: str = "") -> None:
    """Every key and string in parsed JSON is valid text: JSON's \\ud800 escapes decode to lone surrogates."""
    if isinstance(data, dict):
        for key, value in data.items():
            check_text_tree(key, where, path)
            check_text_tree(value, where, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            check_text_tree(value, where, f"{path}[{index}]")
    elif isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            raise UserInputError(
                f"{where} has a broken character in '{path or '(top level)'}' (an escape such as \\ud800 that "
                "stands for no letter); correct that text."
            ) from None
