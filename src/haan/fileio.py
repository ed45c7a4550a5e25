"""The one file layer: every file haan writes goes through here, and JSON is read here.

A write creates the target's missing parent folders (one rule for every output path: `--out
figs/x.png` works as `--plot DIR` does; on a failed write the folders it created are removed
again), then goes to a temporary file in the target's folder (`.<name>.<random>.haan-tmp`), gets the
permissions a newly created file gets (0666 minus the umask: 0644 under umask 022) and is renamed
over the target. On any failure the temporary file is removed and an OSError becomes one
`InputError` line naming the path and the cause (no space left, file too large, permission
denied, ...). A reader sees the old file or the new one, never half of one. A process killed with
SIGKILL cannot clean up: `remove_stale_temporaries` removes what such a run left behind when its
folder is next resumed or overwritten.

Writes are atomic against crashes of the process, not against power loss (no fsync: a training
run saves hundreds of MB every epoch).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

from haan.errors import InputError

TMP_SUFFIX = ".haan-tmp"


def _current_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask


# What a newly created file gets: mkstemp's 0600 would make results private by surprise.
FILE_MODE = 0o666 & ~_current_umask()

_CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (a file-size limit)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a parent of it is not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "file name too long",
}


def describe_os_error(exc: OSError) -> str:
    """A few words for the cause of an OSError, without the path (the caller names it)."""
    return _CAUSES.get(exc.errno or 0) or exc.strerror or type(exc).__name__


# ----------------------------------------------------------------------------------------------
# Folders


def output_folder(path: str | Path) -> Path:
    """Make sure `path` is a folder that can be written to (created with its parents)."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot create the folder ({describe_os_error(exc)})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{folder}: cannot write into the folder (permission denied)")
    return folder


def missing_folders(path: str | Path) -> list[Path]:
    """The folders among `path` and its parents that do not exist yet, deepest first: what
    creating `path` with its parents would make (and what `remove_empty_folders` takes back)."""
    missing = []
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def remove_empty_folders(folders: Sequence[str | Path]) -> None:
    """Remove each of `folders` (deepest first) that is empty; anything with a file in it stays."""
    for folder in folders:
        try:
            Path(folder).rmdir()
        except OSError:
            pass  # not empty, or already gone: it is not ours to remove


def remove_stale_temporaries(folder: str | Path) -> int:
    """Remove the temporary files an interrupted write left in `folder`; how many were removed."""
    removed = 0
    for stale in Path(folder).glob(f".*{TMP_SUFFIX}"):
        try:
            stale.unlink()
            removed += 1
        except OSError:
            pass  # another process's file, or already gone: nothing to clean here
    return removed


def refuse_to_replace(paths: Sequence[str | Path], flag: str = "--overwrite") -> None:
    """The promise that nothing of the user's is replaced without being asked: an error naming
    the first of `paths` that exists."""
    existing = [Path(p) for p in paths if Path(p).exists()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise InputError(f"{existing[0]}: already exists{more}; pass {flag} to replace it")


# ----------------------------------------------------------------------------------------------
# Writing


@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path` for writing ("w" text or "wb" binary); on a clean exit
    it is renamed over `path`, on any exception it is removed."""
    target = Path(path)
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    if target.is_dir():
        raise InputError(f"{target}: cannot write the file (it is a folder)")
    created = missing_folders(target.parent)
    try:
        if created:
            target.parent.mkdir(parents=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TMP_SUFFIX)
    except OSError as exc:
        remove_empty_folders(created)
        raise InputError(f"{target}: cannot write the file ({describe_os_error(exc)})") from None
    try:
        text = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        remove_empty_folders(created)
        raise InputError(f"{target}: cannot write the file ({describe_os_error(exc)})") from None
    except BaseException:
        _unlink_quietly(tmp)
        remove_empty_folders(created)
        raise


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_text(path: str | Path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def json_ready(value: Any) -> Any:
    """`value` with NaN and infinities as None (JSON has no such numbers: `NaN` is not valid
    JSON) and numpy scalars and arrays as Python numbers and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        return json_ready(value.tolist())
    return value


def write_json(path: str | Path, value: Any, indent: int | None = 1) -> None:
    """Valid JSON: NaN and infinities are written as null."""
    write_text(path, json.dumps(json_ready(value), indent=indent, allow_nan=False) + "\n")


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    write_text(path, csv_text(header, rows))


def write_npy(path: str | Path, array: Any) -> None:
    import numpy as np

    array = np.asarray(array)
    with atomic_write(path, "wb") as f:
        np.save(f, array, allow_pickle=array.dtype.hasobject)


def save_torch(path: str | Path, obj: Any) -> None:
    """`torch.save(obj)` through the same temporary-file-and-rename path."""
    import torch

    with atomic_write(path, "wb") as f:
        torch.save(obj, f)


# ----------------------------------------------------------------------------------------------
# Reading JSON


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; every way it can fail is one InputError line naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        # For a read, ENOENT is most often the file itself that is missing, not its folder.
        cause = "no such file" if exc.errno == errno.ENOENT else describe_os_error(exc)
        raise InputError(f"{path}: cannot read the file ({cause})") from None
    try:
        return json.loads(data.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: invalid JSON: not UTF-8 text") from None
    except RecursionError:
        raise InputError(f"{path}: invalid JSON: nested too deeply") from None


def read_numeric_csv(path: str | Path) -> tuple[list[str], Any]:
    """The header and the (rows, columns) float64 values of a CSV of numbers (results.csv,
    log.csv); empty and "nan" cells are NaN. Every way it can fail is one InputError line."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({describe_os_error(exc)})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    try:
        rows = [(i, r) for i, r in enumerate(csv.reader(io.StringIO(text)), start=1) if r]
    except csv.Error as exc:
        raise InputError(f"{path}: malformed CSV: {exc}") from None
    if not rows:
        raise InputError(f"{path}: empty file, expected a header line")
    header = [h.strip() for h in rows[0][1]]
    if len(set(header)) != len(header):
        raise InputError(f"{path}: line 1: repeated column names")
    values = np.empty((len(rows) - 1, len(header)))
    for k, (line, row) in enumerate(rows[1:]):  # a row per epoch: a few hundred at most
        if len(row) != len(header):
            raise InputError(f"{path}: line {line}: {len(row)} fields, the header has "
                             f"{len(header)}")
        for j, cell in enumerate(row):
            try:
                values[k, j] = float(cell) if cell.strip() else np.nan
            except ValueError:
                raise InputError(f"{path}: line {line}, column {header[j]}: not a number: "
                                 f"{cell!r}") from None
    return header, values


__all__ = [
    "FILE_MODE", "TMP_SUFFIX", "atomic_write", "csv_text", "describe_os_error", "json_ready",
    "missing_folders", "output_folder", "read_json", "read_numeric_csv", "refuse_to_replace",
    "remove_empty_folders", "remove_stale_temporaries", "save_torch", "write_bytes", "write_csv",
    "write_json", "write_npy", "write_text",
]
