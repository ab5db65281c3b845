"""Save/load speed of `.keras` archives against the raw I/O limit and against Keras 3.

Prints, in one run:
  * raw write (+fsync) and raw read (warm and cold) of the same number of bytes,
  * kiln save / warm load / cold load, as ratios to those raw figures,
  * peak RSS growth during a kiln load relative to the model's bytes (the child's own
    VmHWM: ru_maxrss carries the parent's peak across fork and exec),
  * a raw read of the saved file in a fresh process, which, like a load, must fault in
    the memory it reads into,
  * Keras 3 (torch backend) save / warm load of the same model, when installed,
for a wide model (default 1 GiB in 16 tensors) and a deep one (1,000 Dense layers,
2,000 tensors, ~192 MiB).

Usage: python benchmarks/saving.py [--size-mib 1024] [--no-keras] [--skip-deep]
Cold reads evict the file from the page cache with posix_fadvise(DONTNEED).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def raw_write(path, nbytes):
    buf = np.random.default_rng(0).integers(0, 255, size=nbytes, dtype=np.uint8)
    t = time.perf_counter()
    with open(path, "wb") as f:
        f.write(memoryview(buf))
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - t


def raw_read(path, nbytes):
    out = np.empty(nbytes, dtype=np.uint8)
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        f.readinto(memoryview(out))
    return time.perf_counter() - t


# The model builders run in child processes so that each measurement starts clean.
CHILD = r'''
import json, os, sys, time
spec = json.loads(sys.argv[1])
lib = spec["lib"]
if lib == "keras":
    os.environ["KERAS_BACKEND"] = "torch"
    sys.setrecursionlimit(50000)  # Keras recurses through the graph: 1,000 layers exceed 1,000 frames
    import keras as K
else:
    import kiln as K
import numpy as np
if lib == "kiln":  # kiln imports subpackages lazily: load them before timing, as `import keras` does
    import kiln.layers, kiln.models, kiln.saving, kiln.optimizers, kiln.saving.keras_archive

def build():
    if spec["kind"] == "wide":
        n = spec["width"]
        inp = K.Input((n,))
        x = inp
        for i in range(16):
            x = K.layers.Dense(n, use_bias=False)(x)
        return K.Model(inp, x)
    inp = K.Input((224,))
    x = inp
    for i in range(1000):
        x = K.layers.Dense(224)(x)
    return K.Model(inp, x)

path = spec["path"]
if spec["op"] == "save":
    model = build()
    t = time.perf_counter(); model.save(path); dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt}))
elif spec["op"] == "raw":  # a raw read in a fresh process: it must allocate its buffer too
    out = np.empty(os.path.getsize(path), dtype=np.uint8)
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        f.readinto(memoryview(out))
    print(json.dumps({"seconds": time.perf_counter() - t}))
else:
    def status(key):  # this process's own figures (ru_maxrss would include the parent's peak)
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key + ":"))
    base = status("VmRSS")
    if spec.get("cold"):
        fd = os.open(path, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
    t = time.perf_counter(); model = K.models.load_model(path); dt = time.perf_counter() - t
    print(json.dumps({"seconds": dt, "rss_growth_bytes": status("VmHWM") - base}))
'''


def child(spec):
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True,
                         text=True, env={**os.environ, "KERAS_BACKEND": "torch"})
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(kind, width, nbytes, tmp, with_keras, repeats=2):
    print(f"\n== {kind}: {nbytes / 2**20:.0f} MiB ==")
    raw = os.path.join(tmp, "raw.bin")
    w = min(raw_write(raw, nbytes) for _ in range(repeats))
    raw_read(raw, nbytes)
    r_warm = min(raw_read(raw, nbytes) for _ in range(repeats))
    evict(raw)
    r_cold = raw_read(raw, nbytes)
    os.remove(raw)
    rows = {}
    for lib in ["kiln"] + (["keras"] if with_keras else []):
        path = os.path.join(tmp, f"{lib}-{kind}.keras")
        spec = {"lib": lib, "kind": kind, "width": width, "path": path}
        # Saves alternate with raw writes of the same size, so that the disk's drift (a
        # virtual disk's speed varies by 2x or more from one minute to the next) hits both.
        saves = []
        for _ in range(repeats + 1):
            if os.path.exists(path):
                os.remove(path)
            saves.append(child({**spec, "op": "save"}))
            w = min(w, raw_write(raw, nbytes))
            os.remove(raw)
        save = min(saves, key=lambda d: d.get("seconds", 1e9))
        child({**spec, "op": "load"})  # warm the cache
        best = lambda runs: min(runs, key=lambda d: d.get("seconds", 1e9))  # noqa: E731
        warm = best([child({**spec, "op": "load"}) for _ in range(repeats)])
        cold = best([child({**spec, "op": "load", "cold": True}) for _ in range(repeats)])
        fresh = best([child({**spec, "op": "raw"}) for _ in range(repeats)])
        rows[lib] = (save, warm, cold)
        print(f"raw write+fsync {w:.3f}s (best of all so far)  raw read warm {r_warm:.3f}s  "
              f"raw read cold {r_cold:.3f}s")
        if "error" in save or "error" in warm:
            print(f"{lib}: error {save.get('error') or warm.get('error')}")
            continue
        print(f"{lib:5s} save {save['seconds']:.3f}s = {save['seconds'] / w:.2f}x raw write | "
              f"warm load {warm['seconds']:.3f}s = {warm['seconds'] / r_warm:.1f}x raw read "
              f"(budget 0.3s+4x = {0.3 + 4 * r_warm:.2f}s) | cold load {cold['seconds']:.3f}s = "
              f"{cold['seconds'] / r_cold:.2f}x raw cold read | peak RSS growth "
              f"{warm['rss_growth_bytes'] / nbytes:.2f}x model bytes")
        if "seconds" in fresh:
            # This process reuses memory it has touched; a fresh process must fault its
            # buffer in, which on some virtual machines costs more than the copy itself.
            print(f"      raw warm read of the same file in a fresh process {fresh['seconds']:.3f}s: "
                  f"warm load = {warm['seconds'] / fresh['seconds']:.2f}x that")
        if os.path.exists(path):
            os.remove(path)
    if "keras" in rows and "seconds" in rows["keras"][1] and "seconds" in rows["kiln"][1]:
        print(f"kiln vs Keras 3: save {rows['keras'][0]['seconds'] / rows['kiln'][0]['seconds']:.1f}x "
              f"faster, warm load {rows['keras'][1]['seconds'] / rows['kiln'][1]['seconds']:.1f}x faster")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--skip-deep", action="store_true")
    parser.add_argument("--skip-wide", action="store_true")
    args = parser.parse_args()
    width = int((args.size_mib * 2**20 / 16 / 4) ** 0.5)
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        if not args.skip_wide:
            bench("wide", width, 16 * width * width * 4, tmp, not args.no_keras)
        if not args.skip_deep:
            bench("deep", 224, 1000 * (224 * 224 + 224) * 4, tmp, not args.no_keras)


if __name__ == "__main__":
    main()
