import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from kiln.saving import atomic
from kiln.saving.atomic import atomic_directory, atomic_write


def _leftovers(directory):
    return sorted(n for n in os.listdir(directory) if ".tmp-" in n or ".old-" in n)


def test_atomic_write_replaces_target(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with atomic_write(target) as f:
        assert os.path.dirname(f.name) == str(tmp_path)
        assert os.path.basename(f.name).startswith(".model.keras.tmp-")
        f.write(b"new content")
        assert target.read_bytes() == b"old"  # not visible before the block ends
    assert target.read_bytes() == b"new content"
    assert _leftovers(tmp_path) == []


def test_atomic_write_creates_new_file_with_umask_permissions(tmp_path):
    target = tmp_path / "fresh.bin"
    with atomic_write(str(target)) as f:
        f.write(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_keeps_permissions_of_replaced_file(tmp_path):
    target = tmp_path / "weights.h5"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_write(target) as f:
        f.write(b"new")
    assert target.stat().st_mode & 0o777 == 0o640


def test_failing_write_leaves_previous_file_identical(tmp_path):
    target = tmp_path / "model.keras"
    original = os.urandom(100_000)
    target.write_bytes(original)
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_write(target) as f:
            f.write(b"partial" * 1000)
            raise RuntimeError("disk on fire")
    assert target.read_bytes() == original
    assert _leftovers(tmp_path) == []


def test_failing_write_without_previous_file_creates_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(tmp_path / "x.keras") as f:
            f.write(b"abc")
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_atomic_write_refuses_directory_target(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="directory with that name exists"):
        with atomic_write(tmp_path / "d"):
            pass


def test_atomic_directory_swaps_content(tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_directory(target) as tmp:
        assert os.path.basename(tmp).startswith(".export.tmp-")
        with open(os.path.join(tmp, "new.txt"), "w") as f:
            f.write("new")
        assert (target / "old.txt").exists()
    assert sorted(os.listdir(target)) == ["new.txt"]
    assert _leftovers(tmp_path) == []


def test_atomic_directory_failure_keeps_old_directory(tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(ValueError):
        with atomic_directory(target) as tmp:
            with open(os.path.join(tmp, "half.txt"), "w") as f:
                f.write("half")
            raise ValueError("boom")
    assert sorted(os.listdir(target)) == ["old.txt"]
    assert _leftovers(tmp_path) == []


def test_atomic_directory_creates_new(tmp_path):
    with atomic_directory(tmp_path / "new") as tmp:
        os.mkdir(os.path.join(tmp, "assets"))
    assert (tmp_path / "new" / "assets").is_dir()
    assert _leftovers(tmp_path) == []


_SIZE = 64 * 1024 * 1024
_CHILD = r"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("atomic_standalone", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
target, generation, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print("ready", flush=True)
while True:
    generation += 1
    block = generation.to_bytes(8, "little") * (size // 8)
    with mod.atomic_write(target) as f:
        view = memoryview(block)
        for start in range(0, size, 8 << 20):  # several writes, so kills land mid-file
            f.write(view[start:start + (8 << 20)])
"""


def _generation_of(path):
    """Returns the generation stored in `path`, asserting the file is complete and uniform."""
    data = np.fromfile(path, dtype=np.uint64)
    assert data.size * 8 == _SIZE, f"truncated target: {data.size * 8} bytes"
    first = int(data[0])
    assert (data == first).all(), "target mixes two generations"
    return first


def test_sigkill_during_writes_never_damages_target(tmp_path):
    target = tmp_path / "big.bin"
    np.full(_SIZE // 8, 1, dtype=np.uint64).tofile(target)
    generation = 1
    rng = random.Random(1234)
    killed_mid_write = 0
    iterations = 0
    while iterations < 20:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, atomic.__file__, str(target), str(generation), str(_SIZE)],
            stdout=subprocess.PIPE,
        )
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.2))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        stray = _leftovers(tmp_path)
        killed_mid_write += bool(stray)
        assert all(name.startswith(".big.bin.tmp-") for name in stray)
        for name in stray:
            os.remove(tmp_path / name)
        new_generation = _generation_of(target)
        assert new_generation >= generation
        generation = new_generation
        iterations += 1
    assert iterations >= 20
    assert killed_mid_write >= 1  # the kills really did interrupt writes
