"""Object-graph checkpoint speed against the raw I/O limit, torch.save and safetensors.

Prints, in one run, for a model of `--size-mib` MiB (default 1 GiB, 16 float32 tensors):
  * raw write (+fsync) of the same bytes, and kiln's synchronous `save_weights` as a ratio
    (target: at most 1.2x),
  * raw read into preallocated memory, and kiln's `load_weights` as a ratio (target: at
    most 1.5x), warm (page cache) and cold (evicted with posix_fadvise),
  * the time an asynchronous save blocks the caller (what `fit` waits per
    `ModelCheckpoint(async_save=True)` save) as a fraction of a synchronous save timed
    alternately with it (target: at most 10%), with snapshot buffers prepared in the
    background (what ModelCheckpoint does at the start of `fit` and after the first
    batch), and for a first save into fresh memory; next to it, a plain memcpy of the
    same bytes into touched memory, the limit of a snapshot on the training thread,
  * torch.save and safetensors.save_file of the same tensors, as ratios to the raw write.

Usage: python benchmarks/checkpoint.py [--size-mib 1024] [--repeats 3] [--dir /tmp]
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time

import numpy as np
import torch

import kiln
import kiln.checkpoint  # noqa: F401  (loaded before timing, as `import keras` would)
import kiln.layers
import kiln.models
from kiln.checkpoint import async_writer, checkpoint, object_graph, weights
from kiln.checkpoint import format as fmt
from kiln.core.variable import skip_initialization


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def build(size_mib):
    width = int((size_mib * 2**20 / 16 / 4) ** 0.5)
    with skip_initialization():
        inputs = kiln.Input((width,))
        x = inputs
        for _ in range(16):
            x = kiln.layers.Dense(width, use_bias=False)(x)
        model = kiln.Model(inputs, x)
    gen = torch.Generator().manual_seed(0)
    for v in model.weights:
        v.value.data.uniform_(-1, 1, generator=gen)
    return model


def median_time(fn, repeats, before=None):
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def raw_write(path, tensors):
    with open(path, "wb") as f:
        for t in tensors:
            f.write(memoryview(fmt.as_bytes_view(t)))
        f.flush()
        os.fsync(f.fileno())


def raw_read(path, buffers):
    with open(path, "rb", buffering=0) as f:
        for b in buffers:
            view = memoryview(fmt.as_bytes_view(b))
            done = 0
            while done < len(view):
                done += f.readinto(view[done:])


class TimedCheckpoint(kiln.callbacks.ModelCheckpoint):
    """ModelCheckpoint that adds up the time `fit` spends inside its per-batch hook."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hook_seconds, self.saves = 0.0, 0

    def on_train_batch_end(self, batch, logs=None):
        t = time.perf_counter()
        super().on_train_batch_end(batch, logs)
        self.hook_seconds += time.perf_counter() - t


def fit_blocked(model, folder, steps, every):
    """Per save, the time `fit` is held up: in ModelCheckpoint's hook, plus (async) the
    time the next steps' writes wait for the background copy. The final wait for the
    last write (at the end of `fit`) is reported apart."""
    from kiln.core import write_guard

    width = model.inputs[0].shape[-1]
    x = np.random.default_rng(0).random((steps * 4, width), dtype=np.float32)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x, batch_size=4, epochs=1, verbose=0)  # builds the optimizer
    out = {}
    for mode in ("sync", "async"):
        callback = TimedCheckpoint(os.path.join(folder, f"fit-{mode}.ckpt"),
                                   save_weights_only=True, save_freq=every,
                                   async_save=mode == "async")
        waited = write_guard.waited_seconds()
        t = time.perf_counter()
        model.fit(x, x, batch_size=4, epochs=1, verbose=0, callbacks=[callback])
        total = time.perf_counter() - t
        saves = steps // every
        out[mode] = ((callback.hook_seconds + write_guard.waited_seconds() - waited) / saves,
                     total)
    return out


def fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temp dir)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="kiln-ckpt-bench-", dir=args.dir)
    try:
        run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def paired(fn_a, fn_b, repeats, before=None, after=None):
    """Medians of `fn_a` and `fn_b` timed alternately (machine load drifts hit both)."""
    return alternated((fn_a, fn_b), repeats, before, after)


def alternated(fns, repeats, before=None, after=None):
    """Medians of each of `fns`, timed in turn within each repeat."""
    times = [[] for _ in fns]
    for i in range(repeats):
        for fn, fn_times in zip(fns, times):
            if before is not None:
                before(i)
            t = time.perf_counter()
            fn(i)
            fn_times.append(time.perf_counter() - t)
            if after is not None:
                after(i)
    return tuple(statistics.median(fn_times) for fn_times in times)


def remove(*paths):
    for path in paths:
        if os.path.exists(path):
            os.remove(path)


def run(args, folder):
    model = build(args.size_mib)
    tensors = [v.value for v in model.weights]
    nbytes = sum(t.numel() * t.element_size() for t in tensors)
    print(f"model: {len(tensors)} tensors, {nbytes / 2**20:.0f} MiB; repeats={args.repeats}; "
          f"folder={folder}")
    raw_path = os.path.join(folder, "raw.bin")
    prefix = os.path.join(folder, "ckpt")
    files = (raw_path, fmt.data_path(prefix), fmt.index_path(prefix))
    buffers = [torch.empty_like(t) for t in tensors]
    for b in buffers:
        b.zero_()  # touch the pages, as model variables are
    rows = []

    # Writes into new files (deleting 1 GiB of cached pages on overwrite is its own cost).
    t_raw_w, t_save = paired(lambda i: raw_write(raw_path, tensors),
                             lambda i: weights.save_weights(model, prefix), args.repeats,
                             before=lambda i: remove(*files))
    rows.append(("raw write + fsync (new file)", t_raw_w, None))
    rows.append(("kiln save_weights (sync, new files)", t_save, t_save / t_raw_w))
    t_raw_o, t_save_o = paired(lambda i: raw_write(raw_path, tensors),
                               lambda i: weights.save_weights(model, prefix), args.repeats)
    rows.append(("raw write + fsync (overwrite)", t_raw_o, None))
    rows.append(("kiln save_weights (sync, overwrite)", t_save_o, t_save_o / t_raw_o))

    t_raw_r, t_load = paired(lambda i: raw_read(raw_path, buffers),
                             lambda i: model.load_weights(prefix), args.repeats)
    rows.append(("raw read (warm)", t_raw_r, None))
    rows.append(("kiln load_weights (warm)", t_load, t_load / t_raw_r))
    t_raw_rc, t_load_c = paired(lambda i: raw_read(raw_path, buffers),
                                lambda i: model.load_weights(prefix), args.repeats,
                                before=lambda i: [evict(p) for p in files])
    rows.append(("raw read (cold)", t_raw_rc, None))
    rows.append(("kiln load_weights (cold)", t_load_c, t_load_c / t_raw_rc))
    # Asynchronous saves, timed alternately with synchronous ones into the same prefix:
    # what the caller waits for, then (untimed) the background write finishes.
    fresh = async_writer.AsyncWriter()
    t = time.perf_counter()
    weights.save_weights(model, prefix, writer=fresh)
    first_fresh = time.perf_counter() - t
    fresh.release()
    # ModelCheckpoint(async_save=True) prepares its buffers after the first batch.
    writer = async_writer.AsyncWriter()
    writer.prepare(checkpoint.graph_tensors(object_graph.Graph(model)))
    writer.wait()
    sources = [fmt.as_bytes_view(t) for t in tensors]
    targets = [fmt.as_bytes_view(b) for b in buffers]
    t_sync, t_async, t_copy = alternated(
        (lambda i: weights.save_weights(model, prefix),
         lambda i: weights.save_weights(model, prefix, writer=writer),
         lambda i: [np.copyto(d, s) for d, s in zip(targets, sources)]),
        args.repeats, after=lambda i: writer.wait())
    writer.release()
    rows.append(("kiln save_weights (sync, paired with async)", t_sync, t_sync / t_raw_o))
    rows.append(("raw memcpy into touched memory (/ sync)", t_copy, t_copy / t_sync))
    rows.append(("async save: blocked (prepared buffers)", t_async, t_async / t_sync))
    rows.append(("async save: blocked, 1st into new memory", first_fresh, first_fresh / t_sync))

    state = {f"w{i}": t for i, t in enumerate(tensors)}
    torch_path = os.path.join(folder, "model.pt")
    t_torch = median_time(lambda: (torch.save(state, torch_path), fsync_file(torch_path)),
                          args.repeats)
    rows.append(("peer: torch.save + fsync (overwrite)", t_torch, t_torch / t_raw_o))
    from safetensors.torch import save_file

    st_path = os.path.join(folder, "model.safetensors")
    t_st = median_time(lambda: (save_file(state, st_path), fsync_file(st_path)), args.repeats)
    rows.append(("peer: safetensors save_file + fsync (overwrite)", t_st, t_st / t_raw_o))

    # Inside fit: ModelCheckpoint(async_save=True) against a synchronous one.
    steps, every = 12, 4
    fitted = fit_blocked(model, folder, steps, every)
    blocked_sync, blocked_async = fitted["sync"][0], fitted["async"][0]
    rows.append((f"fit: blocked per save, sync ({steps} steps, save every {every})",
                 blocked_sync, None))
    rows.append(("fit: blocked per save, async_save=True (/ sync)", blocked_async,
                 blocked_async / blocked_sync))

    width = max(len(name) for name, _, _ in rows)
    print(f"{'measurement':<{width}}  seconds   ratio")
    for name, seconds, ratio in rows:
        shown = "" if ratio is None else f"{ratio:6.3f}"
        print(f"{name:<{width}}  {seconds:7.3f}  {shown}")
    print(f"\nsync save / raw write = {t_save / t_raw_w:.3f} new files, {t_save_o / t_raw_o:.3f} "
          "overwriting (target <= 1.2)")
    print(f"restore / raw read    = {t_load / t_raw_r:.3f} warm, {t_load_c / t_raw_rc:.3f} cold "
          "(target <= 1.5)")
    print(f"async blocked / sync  = {t_async / t_sync:.3f} with prepared buffers "
          f"(ModelCheckpoint), {first_fresh / t_sync:.3f} for a first save into new memory "
          "(target <= 0.10)")
    print(f"async blocked / memcpy = {t_async / t_copy:.3f} with prepared buffers "
          "(the memcpy is the floor for a copy on the calling thread)")
    print(f"in fit: blocked per async save / sync save = {blocked_async / blocked_sync:.3f} "
          "(ModelCheckpoint copies in the background while the next steps run; target "
          "<= 0.10); whole fit "
          f"{fitted['sync'][1]:.2f}s sync vs {fitted['async'][1]:.2f}s async")


if __name__ == "__main__":
    main()
