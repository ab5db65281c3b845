"""Benchmark of kiln's low-level weight I/O against the raw-I/O limit and plain h5py.

Writes N MiB of float32 weights as 16 tensors into the `model.weights.h5` member of a
`.keras` zip (ArchiveWriter + H5Writer, fsynced, atomic), reads them back with
`H5Reader.read_into` into preallocated tensors, and prints each time next to:

- raw write: the same bytes written with plain file writes + fsync (the disk limit);
- temp+copy write: h5py into a temporary `.weights.h5`, then `zipfile` copies it into the
  archive (the approach Keras takes for large models) — the alternative to streaming;
- raw read: the same bytes read back with `readinto` into preallocated buffers (warm);
- h5py read: `dset[...]` on each dataset (h5py's normal read, warm, standalone file).

Usage:
    python benchmarks/io_primitives.py --size-mib 1024

Peak memory is about twice the size (source tensors, then destination tensors).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import zipfile

import h5py
import numpy as np
import torch

from kiln.saving.h5_store import H5Writer
from kiln.saving.zip_archive import ArchiveReader, ArchiveWriter

N_TENSORS = 16


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="total weight size in MiB")
    parser.add_argument("--dir", default=None, help="scratch directory (default: system temp)")
    args = parser.parse_args(argv)

    per_tensor = args.size_mib * 1024 * 1024 // (4 * N_TENSORS)
    total = per_tensor * 4 * N_TENSORS
    scratch = tempfile.mkdtemp(prefix="kiln-io-bench-", dir=args.dir)
    generator = torch.Generator().manual_seed(0)
    sources = [torch.rand(per_tensor, generator=generator) for _ in range(N_TENSORS)]
    paths = [f"layers/dense_{i}" if i else "layers/dense" for i in range(N_TENSORS)]
    kiln_path = os.path.join(scratch, "kiln.keras")
    raw_path = os.path.join(scratch, "raw.bin")
    alt_path = os.path.join(scratch, "alt.keras")
    alt_h5 = os.path.join(scratch, "alt.weights.h5")

    def kiln_write():
        with ArchiveWriter(kiln_path) as zw:
            zw.write_json("metadata.json", {"keras_version": "3.15.1"})
            zw.write_json("config.json", {})
            with zw.weights_writer() as h5:
                for path, tensor in zip(paths, sources):
                    h5.put(path, [tensor], name=path)

    def raw_write():
        with open(raw_path, "wb") as f:
            for tensor in sources:
                f.write(memoryview(tensor.numpy()).cast("B"))
            f.flush()
            os.fsync(f.fileno())

    def temp_copy_write():
        with H5Writer(alt_h5) as h5:
            for path, tensor in zip(paths, sources):
                h5.put(path, [tensor], name=path)
        with zipfile.ZipFile(alt_path, "w") as zf:
            zf.writestr("metadata.json", '{"keras_version": "3.15.1"}')
            zf.writestr("config.json", "{}")
            zf.write(alt_h5, "model.weights.h5")
        _fsync_path(alt_path)

    try:
        results = {}
        results["raw write"] = _timed(raw_write)
        results["kiln write"] = _timed(kiln_write)
        results["temp+copy write"] = _timed(temp_copy_write)
        checksums = [float(t.double().sum()) for t in sources]
        del sources  # keep memory bounded: only the destinations live from here on

        targets = [torch.empty(per_tensor) for _ in range(N_TENSORS)]

        def kiln_read():
            with ArchiveReader(kiln_path) as archive, archive.open_weights() as weights:
                for path, target in zip(paths, targets):
                    weights.read_into(path, 0, target)

        def raw_read():
            with open(raw_path, "rb", buffering=0) as f:
                for target in targets:
                    f.readinto(memoryview(target.numpy()).cast("B"))

        def h5py_read():
            with h5py.File(alt_h5, "r") as f:
                for path in paths:
                    f[f"{path}/vars/0"][...]

        kiln_read()  # first touch of the destination pages is not I/O: keep it out of timings
        for checksum, target in zip(checksums, targets):
            assert float(target.double().sum()) == checksum, "read_into returned wrong data"
        reads = {"raw read": raw_read, "kiln read_into": kiln_read, "h5py dset[...]": h5py_read}
        for name in reads:
            results[name] = float("inf")
        for _ in range(5):  # interleaved, best of 5: the page cache is warm for all three
            for name, fn in reads.items():
                results[name] = min(results[name], _timed(fn))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    gib = total / 1024**3
    print(f"io_primitives: {N_TENSORS} float32 tensors, {total / 2**20:.0f} MiB total "
          f"(python {sys.version.split()[0]}, torch {torch.__version__}, h5py {h5py.__version__})")
    for name, seconds in results.items():
        print(f"  {name:<18} {seconds:8.3f} s  {gib / seconds:6.2f} GiB/s")
    print("ratios (lower is better; 1.00 = the raw limit):")
    print(f"  kiln write / raw write           {results['kiln write'] / results['raw write']:.2f}")
    print(f"  temp+copy write / raw write      {results['temp+copy write'] / results['raw write']:.2f}")
    print(f"  kiln read_into / raw read        {results['kiln read_into'] / results['raw read']:.2f}")
    print(f"  h5py dset[...] / raw read        {results['h5py dset[...]'] / results['raw read']:.2f}")
    print(f"  kiln read_into / h5py dset[...]  {results['kiln read_into'] / results['h5py dset[...]']:.2f}")
    return results


if __name__ == "__main__":
    main()
