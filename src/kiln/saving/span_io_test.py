import hashlib
import io
import os
import zlib

import numpy as np
import pytest

from kiln.errors import FileFormatError
from kiln.saving import span_io
from kiln.saving.span_io import (Digest, FileWindow, crc32_combine, fill_spans, prefetch,
                                 start_writeback)


@pytest.mark.parametrize("a,b", [(b"ab", b"cd"), (b"", b"xyz"), (b"xyz", b""),
                                 (os.urandom(1000), os.urandom(70_001))])
def test_crc32_combine_matches_zlib(a, b):
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_digest_algorithms():
    for algorithm, expected in (("crc32", f"{zlib.crc32(b'abc'):08x}"),
                                ("sha256", hashlib.sha256(b"abc").hexdigest())):
        digest = Digest(algorithm)
        digest.update(b"a")
        digest.update(memoryview(b"bc"))
        assert digest.hexdigest() == expected
    with pytest.raises(FileFormatError, match="Unknown checksum algorithm 'md5'"):
        Digest("md5")


def _data(tmp_path, size=3 * 1024 * 1024 + 17):
    payload = np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(b"head" + payload + b"tail")
    return path, payload


@pytest.mark.parametrize("source", ["file", "bytesio"])
def test_fill_spans_with_gaps_and_digest(tmp_path, source, monkeypatch):
    monkeypatch.setattr(span_io, "_BATCH_BYTES", 64 * 1024)  # many batches
    path, payload = _data(tmp_path)
    fileobj = open(path, "rb") if source == "file" else io.BytesIO(path.read_bytes())
    with fileobj:
        window = FileWindow(fileobj, 4, len(payload))
        spans = [(0, 10), (10, 5), (100, 70_000), (200_000, 1), (len(payload) - 9, 9)]
        outs = [bytearray(n) for _, n in spans]
        digest = Digest("crc32")
        fill_spans(window, [(p, memoryview(o)) for (p, _), o in zip(spans, outs)], digest)
        for (position, n), out in zip(spans, outs):
            assert bytes(out) == payload[position:position + n]
        assert digest.hexdigest() == f"{zlib.crc32(payload):08x}"


def test_overlapping_spans_still_fill_and_hash_everything(tmp_path):
    path, payload = _data(tmp_path, 5000)
    with open(path, "rb") as f:
        window = FileWindow(f, 4, len(payload))
        a, b = bytearray(100), bytearray(100)
        digest = Digest("sha256")
        fill_spans(window, [(50, memoryview(a)), (0, memoryview(b))], digest)
        assert bytes(a) == payload[50:150] and bytes(b) == payload[:100]
        assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()


def test_reads_past_the_window_are_refused(tmp_path):
    path, payload = _data(tmp_path, 1000)
    with open(path, "rb") as f:
        window = FileWindow(f, 4, 100)
        with pytest.raises(FileFormatError, match="runs past the end"):
            fill_spans(window, [(90, memoryview(bytearray(20)))])
        short = FileWindow(f, 900, 500)  # the window claims more than the file holds
        with pytest.raises(FileFormatError, match="truncated"):
            short.pread_into(memoryview(bytearray(300)), 0)


def test_short_reads_are_continued():
    class Trickle(io.BytesIO):
        def fileno(self):
            raise io.UnsupportedOperation

        def readinto(self, buffer):
            return super().readinto(memoryview(buffer)[:3])

    window = FileWindow(Trickle(bytes(range(50))), 5, 40)
    out = [bytearray(7), bytearray(11)]
    window.preadv_into([memoryview(o) for o in out], 2)
    assert bytes(out[0]) == bytes(range(7, 14)) and bytes(out[1]) == bytes(range(14, 25))


def test_hints_are_harmless(tmp_path):
    path, _ = _data(tmp_path, 4096)
    with open(path, "r+b") as f:
        prefetch(f, 0, 4096)
        prefetch(io.BytesIO(), 0, 10)  # no descriptor: ignored
        f.write(b"x")
        f.flush()
        start_writeback(f.fileno())


def test_skip_bytes_continues_after_a_short_transfer():
    from kiln.saving.span_io import skip_bytes

    views = [memoryview(b"abc"), memoryview(b"de"), memoryview(b"fgh")]
    assert [bytes(v) for v in skip_bytes(list(views), 1)] == [b"bc", b"de", b"fgh"]
    assert [bytes(v) for v in skip_bytes(list(views), 3)] == [b"de", b"fgh"]
    assert [bytes(v) for v in skip_bytes(list(views), 4)] == [b"e", b"fgh"]


def _large_spans(monkeypatch):
    monkeypatch.setattr(span_io, "_PREFAULT_MIN_BYTES", 1024 * 1024)
    monkeypatch.setattr(span_io, "_PREFAULT_MIN_SPAN", 256 * 1024)
    monkeypatch.setattr(span_io, "_PREFAULT_STEP", 64 * 1024)
    small = np.empty(1000, np.uint8)  # below _PREFAULT_MIN_SPAN: left to the reads
    big = [np.empty(1024 * 1024 + 100, np.uint8), np.empty(1024 * 1024, np.uint8)]
    spans = [(1000, memoryview(big[0])), (1000 + len(big[0]), memoryview(small)),
             (2 * 1024 * 1024, memoryview(big[1]))]
    return small, big, spans


def test_prefault_covers_the_whole_pages_of_large_views_in_read_order(monkeypatch):
    small, big, spans = _large_spans(monkeypatch)
    ranges = span_io._prefault_ranges(spans)
    page = os.sysconf("SC_PAGE_SIZE")
    assert all(a % page == 0 and 0 < n <= 64 * 1024 for a, n in ranges)
    expected = []
    for view in big:
        lo = -(-view.ctypes.data // page) * page
        hi = (view.ctypes.data + view.nbytes) // page * page
        inside = [(a, a + n) for a, n in ranges if lo <= a < hi]
        assert inside[0][0] == lo and inside[-1][1] == hi
        assert all(a[1] == b[0] for a, b in zip(inside, inside[1:]))
        expected += inside
    assert [(a, a + n) for a, n in ranges] == expected  # big[0] first: it is read first
    assert not any(a <= small.ctypes.data < a + n for a, n in ranges)
    monkeypatch.setattr(span_io, "_PREFAULT_MIN_BYTES", 10 * 1024 * 1024)
    assert span_io._prefault_ranges(spans) == []


def test_prefaulted_loads_read_correctly(tmp_path, monkeypatch):
    small, big, spans = _large_spans(monkeypatch)
    data = np.random.default_rng(3).integers(0, 255, 3 * 1024 * 1024, dtype=np.uint8)
    path = tmp_path / "data.bin"
    path.write_bytes(data.tobytes())
    real = span_io._madvise_function()
    calls = []

    def recording(address, length, advice):
        calls.append((address, advice))
        return real(address, length, advice) if real else 0

    monkeypatch.setattr(span_io, "_madvise", recording)
    with open(path, "rb") as f:
        fill_spans(FileWindow(f, 0, len(data)), spans, Digest("crc32"))
    assert bytes(big[0]) == data[1000:1000 + len(big[0])].tobytes()
    assert bytes(small) == data[1000 + len(big[0]):1000 + len(big[0]) + 1000].tobytes()
    assert bytes(big[1]) == data[2 * 1024 * 1024:].tobytes()
    # The helper ran (it may be stopped early once the reads are done), from the start.
    assert calls[0] == (span_io._prefault_ranges(spans)[0][0], span_io._MADV_POPULATE_WRITE)


def test_small_loads_are_not_prefaulted(tmp_path, monkeypatch):
    monkeypatch.setattr(span_io, "_madvise", lambda *args: pytest.fail("prefaulted"))
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 16)
    out = np.empty(4096, np.uint8)
    with open(path, "rb") as f:
        fill_spans(FileWindow(f, 0, 4096), [(0, memoryview(out))])
    assert bytes(out) == path.read_bytes()
