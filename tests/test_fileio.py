"""The one output layer: atomic writes, permissions, clean failures, valid JSON."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from haan import fileio
from haan.errors import InputError


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(fileio.TMP_SUFFIX))


def test_written_files_get_the_permissions_of_a_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        mode = 0o666 & ~0o022
        assert fileio.FILE_MODE == 0o666 & ~old or fileio.FILE_MODE == mode
        for name, write in (("a.txt", lambda p: fileio.write_text(p, "x")),
                            ("b.json", lambda p: fileio.write_json(p, {"a": 1})),
                            ("c.npy", lambda p: fileio.write_npy(p, np.arange(3))),
                            ("d.csv", lambda p: fileio.write_csv(p, ["a"], [[1]])),
                            ("e.pt", lambda p: fileio.save_torch(p, {"x": 1}))):
            write(tmp_path / name)
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == fileio.FILE_MODE
    finally:
        os.umask(old)
    assert fileio.FILE_MODE == 0o644  # the test process runs under umask 022


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "results.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with fileio.atomic_write(target) as f:
            f.write("half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert _leftovers(tmp_path) == []


def test_an_os_error_while_writing_is_one_line_naming_the_path_and_cause(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(InputError, match=r"x\.bin: cannot write the file \(no space left"):
        with fileio.atomic_write(target, "wb"):
            raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(InputError, match=r"file too large"):
        with fileio.atomic_write(target, "wb"):
            raise OSError(errno.EFBIG, "File too large")
    assert not target.exists() and _leftovers(tmp_path) == []


def test_a_write_creates_missing_parent_folders_and_removes_them_when_it_fails(tmp_path):
    fileio.write_text(tmp_path / "a" / "b" / "c.txt", "x")
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "x"
    assert fileio.missing_folders(tmp_path / "p" / "q") == [tmp_path / "p" / "q", tmp_path / "p"]
    with pytest.raises(RuntimeError):
        with fileio.atomic_write(tmp_path / "p" / "q" / "r.txt") as f:
            f.write("half")
            raise RuntimeError("the writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # p/q created and taken back
    (tmp_path / "a" / "keep").mkdir()
    fileio.remove_empty_folders([tmp_path / "a" / "keep", tmp_path / "a"])
    assert not (tmp_path / "a" / "keep").exists() and (tmp_path / "a" / "b" / "c.txt").is_file()


def test_writing_under_a_file_or_onto_a_folder_is_an_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="a parent of it is not a folder"):
        fileio.write_text(tmp_path / "file" / "a.txt", "x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match="it is a folder"):
        fileio.write_text(tmp_path / "dir", "x")
    with pytest.raises(InputError, match="exists and is not a folder"):
        fileio.output_folder(tmp_path / "file")
    assert fileio.output_folder(tmp_path / "new" / "deep").is_dir()


def test_json_is_valid_with_nan_and_numpy_values(tmp_path):
    fileio.write_json(tmp_path / "r.json", {"a": float("nan"), "b": [1.5, float("inf")],
                                            "c": np.float32(2.0), "d": np.array([1, 2])})
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [1.5, None], "c": 2.0, "d": [1, 2]}


def test_read_json_errors_are_one_line(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        fileio.read_json(p)
    p.write_text("{")
    with pytest.raises(InputError, match="invalid JSON"):
        fileio.read_json(p)
    p.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="not UTF-8"):
        fileio.read_json(p)
    with pytest.raises(InputError, match=r"absent.json: cannot read the file \(no such file"):
        fileio.read_json(tmp_path / "absent.json")


def test_stale_temporaries_are_removed_and_others_kept(tmp_path):
    (tmp_path / ".encoder.pkl.abc.haan-tmp").write_text("")
    (tmp_path / "keep.txt").write_text("")
    assert fileio.remove_stale_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_refuse_to_replace_names_the_first_existing_file(tmp_path):
    (tmp_path / "b").write_text("")
    fileio.refuse_to_replace([tmp_path / "a"])
    with pytest.raises(InputError, match=r"b: already exists; pass --overwrite"):
        fileio.refuse_to_replace([tmp_path / "a", tmp_path / "b"])


def test_read_numeric_csv(tmp_path):
    p = tmp_path / "results.csv"
    p.write_text("epoch,mAP@0.5,avg.mAP\n0,1.5,nan\n1,,2\n")
    header, values = fileio.read_numeric_csv(p)
    assert header == ["epoch", "mAP@0.5", "avg.mAP"]
    np.testing.assert_array_equal(values, [[0, 1.5, np.nan], [1, np.nan, 2]])
    p.write_text("epoch,loss\n0,x\n")
    with pytest.raises(InputError, match=r"results.csv: line 2, column loss: not a number: 'x'"):
        fileio.read_numeric_csv(p)
    with pytest.raises(InputError, match="no such file"):
        fileio.read_numeric_csv(tmp_path / "absent.csv")
