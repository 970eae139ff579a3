"""The files evalkit writes: where they may go, how they are written, and what a spreadsheet cell may hold.

One set of rules for every command and view that writes a file (letters, reports, scorecard workbooks):

* an output folder is created if it is missing, but only as the last step of its path: a mistyped parent is an
  error, not a new tree of folders (:func:`output_folder`, :func:`output_file`);
* a file is written to a temporary name in its folder and renamed into place, readable by its owner only, so a
  reader never sees half a file (:func:`write_private`); the temporary name carries :data:`TEMP_MARK` and the
  writer's process id, so :func:`remove_stale_temporaries` removes only what a dead evalkit process left, never
  another program's ``.tmp`` files;
* text that a spreadsheet would run as a formula (``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)``) is written as
  text (:func:`csv_text` for CSV, :func:`text_cells_only` for workbooks).
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable

__all__ = ["OutputError", "TEMP_MARK", "output_folder", "output_file", "write_private", "temporary_name",
           "remove_stale_temporaries", "process_running", "is_formula_like", "csv_text", "text_cells_only"]

#: Part of every temporary file name evalkit writes: ``.<name>.evalkit-<pid>.tmp``.
TEMP_MARK = ".evalkit-"
_TEMPORARY = re.compile(r"^\..+\.evalkit-(\d+)\.tmp(\.[A-Za-z0-9]+)?$")

# A cell starting with one of these is read by Excel, LibreOffice and Google Sheets as a formula (or DDE command).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\ufe62", "\ufe63", "\uff0b", "\uff0d", "\uff20")


class OutputError(ValueError):
    """An output path that cannot be used, with the reason in one line."""


def output_folder(path, what: str = "output") -> Path:
    """The folder ``path``, created (owner-only) if it is missing and its parent exists.

    Examples
    --------
    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> output_folder(base / "letters").is_dir()
    True
    >>> output_folder(base / "no" / "letters")
    Traceback (most recent call last):
    ...
    evalkit.outputs.OutputError: cannot create the output folder .../no/letters: folder .../no does not exist
    """
    path = Path(path)
    if path.is_dir():
        return path
    if not path.parent.is_dir():
        raise OutputError(f"cannot create the {what} folder {path}: folder {path.parent} does not exist")
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:  # made by another thread or process meanwhile, or a file of that name
        if not path.is_dir():
            raise OutputError(f"{what} folder {path} is not a folder") from None
    except OSError as exc:
        raise OutputError(f"cannot create the {what} folder {path}: {exc.strerror}") from None
    return path


def output_file(path, what: str = "output") -> Path:
    """``path`` checked as a file to write: not a folder, in a folder that exists and is writable."""
    path = Path(path)
    if path.is_dir() or str(path).endswith(os.sep) or not path.name:
        raise OutputError(f"{path} is a folder; expected a file name for the {what}")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {path.parent} is not writable")
    return path


def write_private(path, content: bytes | str | Callable[[Path], None]) -> str:
    """Write ``content`` to ``path`` atomically, readable by its owner only; returns the file's SHA-256.

    ``content`` is the bytes, the text (UTF-8), or a function that writes the file at the path it is given (for
    libraries that save to a path, such as openpyxl). The data reach the disk before the rename.
    """
    path = output_file(path)
    tmp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}.tmp")
    try:
        if callable(content):
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            content(tmp)
            os.chmod(tmp, 0o600)
        else:
            data = content.encode("utf-8") if isinstance(content, str) else content
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        with open(tmp, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return digest


def temporary_name(path, suffix: str = "") -> Path:
    """A temporary name for ``path`` that :func:`remove_stale_temporaries` recognises as this process's."""
    path = Path(path)
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}.tmp{suffix}")


def remove_stale_temporaries(folder) -> list[Path]:
    """Remove the temporary files that evalkit processes no longer running left in ``folder``; returns them.

    Other programs' files, and those of an evalkit process still writing, are left alone.
    """
    removed = []
    for entry in Path(folder).iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and entry.is_file() and not process_running(int(match.group(1))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def process_running(pid: int) -> bool:
    """Whether a process with this id exists and has not ended (another user's counts; a zombie, ended but not
    yet reaped by its parent, as happens under a container's init, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):  # no /proc here: trust the signal
        return True
    return state != "Z"


def is_formula_like(text) -> bool:
    """Whether a spreadsheet would read this text as a formula.

    Examples
    --------
    >>> is_formula_like("=HYPERLINK(\\"http://x\\")"), is_formula_like("-5 late"), is_formula_like("Smith")
    (True, True, False)
    """
    return isinstance(text, str) and text.startswith(_FORMULA_START)


def csv_text(value):
    """A value for a CSV cell that a spreadsheet opens as text: formula-like text gets a leading apostrophe.

    Examples
    --------
    >>> csv_text("=cmd|' /C calc'!A0"), csv_text("O'Brien"), csv_text(3)
    ("'=cmd|' /C calc'!A0", "O'Brien", 3)
    """
    return "'" + value if is_formula_like(value) else value


def text_cells_only(workbook) -> None:
    """Make every cell of an openpyxl workbook that openpyxl took for a formula (text starting with ``=``) a text
    cell. evalkit's workbooks hold no formulas, only what people typed; a typed ``=...`` must stay text."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
