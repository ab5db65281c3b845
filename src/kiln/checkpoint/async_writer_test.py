import threading
import time

import pytest
import torch

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
