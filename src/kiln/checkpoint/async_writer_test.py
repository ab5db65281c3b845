import threading
import time

import numpy as np
import pytest
import torch

from kiln.checkpoint import async_writer
from kiln.checkpoint.async_writer import AsyncWriter, wait_all


def test_snapshot_copies_and_reuses_buffers():
    writer = AsyncWriter()
    source = {"w": torch.ones(4), "b": torch.zeros(2)}
    first = writer.snapshot(source)
    assert torch.equal(first["w"], source["w"]) and first["w"].data_ptr() != source["w"].data_ptr()
    source["w"].fill_(3.0)
    assert torch.equal(first["w"], torch.ones(4))  # a copy, not a view
    second = writer.snapshot(source)
    assert second["w"].data_ptr() == first["w"].data_ptr()  # the buffer is reused
    assert torch.equal(second["w"], torch.full((4,), 3.0))


def test_at_most_one_write_in_flight():
    writer = AsyncWriter()
    release = threading.Event()
    running = []

    def slow(tag):
        running.append(tag)
        release.wait(5)

    writer.submit(slow, 1)
    assert writer.busy
    threading.Timer(0.2, release.set).start()
    started = time.perf_counter()
    writer.submit(slow, 2)  # blocks until the first write finished
    assert time.perf_counter() - started >= 0.15
    writer.wait()
    assert running == [1, 2] and not writer.busy


def test_errors_surface_later_once():
    writer = AsyncWriter()

    def fail():
        raise OSError("disk full")

    writer.submit(fail)
    wait_all()  # waits without raising
    with pytest.raises(OSError, match="disk full") as info:
        writer.wait()
    assert "background" in " ".join(info.value.__notes__)
    writer.wait()
    writer.submit(fail)
    with pytest.raises(OSError, match="disk full"):
        writer.submit(lambda: None)


@pytest.fixture
def slow_copy(monkeypatch):
    """Background copies start late, so a write that did not wait would win the race."""
    real = async_writer._memcpy

    def late(pairs):
        if threading.current_thread().name == "kiln-snapshot-copy":
            time.sleep(0.2)
        real(pairs)

    monkeypatch.setattr(async_writer, "_memcpy", late)


def test_deferred_snapshot_keeps_the_values_of_the_save_moment(slow_copy):
    import kiln

    big = kiln.Variable(np.zeros((512, 1024), "float32"), name="big")  # 2 MiB: deferred
    small = kiln.Variable(np.zeros(3, "float32"), name="small")  # copied before returning
    writer = AsyncWriter()
    snapshot = writer.snapshot({"big": big.value, "small": small.value}, defer=True)
    written = {}
    writer.submit(lambda: written.update({k: v.clone() for k, v in snapshot.items()}))
    big.assign(np.ones((512, 1024), "float32"))  # waits for the copy of `big`
    small.assign(np.ones(3, "float32"))
    writer.wait()
    assert float(written["big"].abs().sum()) == 0.0 and float(written["small"].sum()) == 0.0
    assert float(big.value.detach().sum()) == 512 * 1024


def test_optimizer_updates_wait_for_a_deferred_snapshot(slow_copy):
    import kiln

    weights = kiln.Variable(np.full((1024, 512), 2.0, "float32"), name="w")
    optimizer = kiln.optimizers.SGD(learning_rate=1.0)
    optimizer.build([weights])
    writer = AsyncWriter()
    snapshot = writer.snapshot({"w": weights.value}, defer=True)
    optimizer.apply([torch.ones(1024, 512)], [weights])
    writer.wait()
    assert torch.all(snapshot["w"] == 2.0) and torch.all(weights.value.detach() == 1.0)
