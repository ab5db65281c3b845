"""A save killed at any moment leaves the previous file intact and loadable."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import kiln

CHILD = textwrap.dedent("""
    import sys, numpy as np, kiln
    path = sys.argv[1]
    inp = kiln.Input((1024,))
    x = inp
    for _ in range(4):
        x = kiln.layers.Dense(1024, use_bias=False)(x)
    model = kiln.Model(inp, x)
    version = int(sys.argv[2])
    while True:
        version += 1
        for w in model.weights:
            w.assign(np.full(w.shape, version, dtype="float32"))
        model.save(path)
        print("saved", flush=True)
""")


def _stored_version(path):
    model = kiln.models.load_model(path)
    values = {float(np.asarray(w)[0, 0]) for w in model.weights}
    assert len(values) == 1, f"weights from different saves mixed: {values}"
    return values.pop()


def test_killed_saves_never_corrupt_the_archive(tmp_path):
    path = str(tmp_path / "model.keras")
    rng = random.Random(0)
    seen = []
    for round_ in range(6):
        # Each child first completes one save, then is killed at a random moment of
        # a later one: the file on disk must always be one whole save.
        proc = subprocess.Popen([sys.executable, "-c", CHILD, path, str(round_ * 1000)],
                                stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"saved"
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        version = _stored_version(path)
        assert version > round_ * 1000
        seen.append(version)
    assert len(set(seen)) == len(seen)


def test_failed_save_keeps_previous_file_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "m.keras"
    inp = kiln.Input((3,))
    model = kiln.Model(inp, kiln.layers.Dense(2)(inp))
    model.save(path)
    before = path.read_bytes()

    class Boom(kiln.layers.Layer):
        def get_config(self):
            raise RuntimeError("cannot serialize")

        def call(self, x):
            return x

    broken = kiln.Model(inp, Boom()(model.output))
    with pytest.raises(Exception):
        broken.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]
