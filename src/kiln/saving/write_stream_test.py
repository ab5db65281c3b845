import io
import os
import sys
import zlib

import numpy as np
import pytest

from kiln.saving import write_stream
from kiln.saving.write_stream import FdSink, FileSink


def _pieces():
    rng = np.random.default_rng(1)
    pieces, offset = [], 100
    for size in (10, 3 * 1024 * 1024, 0, 700, 20 * 1024 * 1024 + 5, 1):
        offset += int(rng.integers(0, 70))
        pieces.append((offset, rng.integers(0, 255, size, dtype=np.uint8)))
        offset += size
    return pieces


def _expected(pieces, start):
    data = bytearray(pieces[-1][0] + len(pieces[-1][1]))
    for offset, array in pieces:
        data[offset:offset + len(array)] = array.tobytes()
    return bytes(data[start:])


@pytest.mark.parametrize("kind", ["fd", "file"])
def test_streamed_pieces_land_in_place_with_their_crc(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(write_stream, "_MAX_IOV", 3)  # several batches per tensor run
    pieces = _pieces()
    path = tmp_path / "out.bin"
    with open(path, "w+b") as f:
        f.write(b"#" * 8)  # the sink's `base`: its offsets start after this
        f.flush()
        sink = FdSink(f.fileno(), 8) if kind == "fd" else FileSink(_Offset(f, 8))
        sink.stream(50, memoryview(b""))
        for offset, array in pieces:
            sink.stream(offset, memoryview(array))
        crc = sink.finish()
        sink.write(b"TAIL", sink.end)
    data = path.read_bytes()
    expected = _expected(pieces, 50)
    assert data[:8] == b"#" * 8 and data[8 + 50:-4] == expected and data.endswith(b"TAIL")
    assert crc == zlib.crc32(expected)


@pytest.mark.parametrize("mode", ["w+b", "wb"])
def test_batches_of_many_small_pieces_keep_their_crc(tmp_path, monkeypatch, mode):
    # Threads on (several batches), and each batch has far more pieces than the sink
    # checksums one by one: it reads the batch back ("w+b") or, from a descriptor it
    # cannot read ("wb"), joins the pieces.
    monkeypatch.setattr(write_stream, "_BATCH_BYTES", 64 * 1024)
    rng = np.random.default_rng(2)
    pieces, offset = [(0, np.ones(3, np.uint8))], 3
    for _ in range(400):
        offset += int(rng.integers(0, 9))
        size = int(rng.integers(1, 2000))
        pieces.append((offset, rng.integers(0, 255, size, dtype=np.uint8)))
        offset += size
    path = tmp_path / "many.bin"
    with open(path, mode) as f:
        assert write_stream._readable(f.fileno()) == (mode == "w+b")
        sink = FdSink(f.fileno(), 0)
        for offset, array in pieces:
            sink.stream(offset, memoryview(array))
        assert len(sink._batch) > write_stream._JOIN_PIECES or sink._threads
        crc = sink.finish()
    assert path.read_bytes() == _expected(pieces, 0)
    assert crc == zlib.crc32(_expected(pieces, 0))


class _Offset(io.RawIOBase):
    """A file object seen from byte `base` on (like the archive's member window)."""

    def __init__(self, f, base):
        super().__init__()
        self.f, self.base = f, base

    def seek(self, pos, whence=0):
        return self.f.seek(self.base + pos) - self.base

    def write(self, data):
        return self.f.write(data)


def test_without_checksum(tmp_path):
    buffer = io.BytesIO()
    sink = FileSink(buffer, checksum=False)
    sink.stream(0, memoryview(b"abc"))
    assert sink.finish() is None and buffer.getvalue() == b"abc"


def test_pieces_must_move_forward(tmp_path):
    sink = FileSink(io.BytesIO())
    sink.stream(10, memoryview(b"abc"))
    with pytest.raises(ValueError, match="increasing offsets"):
        sink.stream(11, memoryview(b"x"))


def test_writer_thread_errors_surface(tmp_path, monkeypatch):
    monkeypatch.setattr(write_stream, "_BATCH_BYTES", 1024 * 1024)
    interval = sys.getswitchinterval()
    fd = os.open(tmp_path / "ro.bin", os.O_RDONLY | os.O_CREAT)
    try:
        sink = FdSink(fd, 0)
        sink.stream(0, memoryview(bytes(3 * 1024 * 1024)))  # more than one batch: threads
        assert sink._threads is not None
        with pytest.raises(OSError):
            sink.finish()
        sink.abort()  # safe after a failure
    finally:
        os.close(fd)
    assert sys.getswitchinterval() == interval


def test_switch_interval_is_lowered_only_while_helpers_run(tmp_path, monkeypatch):
    monkeypatch.setattr(write_stream, "_BATCH_BYTES", 1024 * 1024)
    interval = sys.getswitchinterval()
    assert interval > write_stream._HANDOFF_INTERVAL
    with open(tmp_path / "a.bin", "w+b") as a, open(tmp_path / "b.bin", "w+b") as b:
        first, second = FdSink(a.fileno(), 0), FdSink(b.fileno(), 0)
        first.stream(0, memoryview(bytes(3 * 1024 * 1024)))
        assert sys.getswitchinterval() == write_stream._HANDOFF_INTERVAL
        second.stream(0, memoryview(bytes(3 * 1024 * 1024)))
        first.finish()  # the other sink's helpers still run
        assert sys.getswitchinterval() == write_stream._HANDOFF_INTERVAL
        second.finish()
    assert sys.getswitchinterval() == interval
