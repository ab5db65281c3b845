"""Inference latency of exported artifacts against kiln's own `predict`.

For an MLP and a small CNN, exports the model once with `format="torch"` and once with
`format="onnx"`, then times, at batch 1 and batch 1,000:

- kiln    `model.predict(x, batch_size=len(x), verbose=0)` (the training API's inference);
- eager   `model(x)` under `torch.no_grad()` (kiln's forward without predict's loop);
- torch   the artifact's program run by plain PyTorch: `torch.export.load(...).module()`;
- loaded  the same program through `kiln.export.load(...).serve` (adds input checks);
- ort     onnxruntime on the `.onnx` file (CPU provider, default threads).

Ratios are `kiln predict time / other time` (above 1 means the other path is faster).

Usage: python benchmarks/export.py [--repeats 50]
"""

import argparse
import os
import tempfile
import time

import numpy as np
import onnxruntime
import torch

import kiln


def best_time(fn, repeats):
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t) / repeats)
    return best


def mlp():
    inp = kiln.Input((784,), name="x")
    x = kiln.layers.Dense(512, activation="relu")(inp)
    x = kiln.layers.Dense(256, activation="relu")(x)
    return kiln.Model(inp, kiln.layers.Dense(10)(x)), (784,)


def cnn():
    inp = kiln.Input((32, 32, 3), name="x")
    x = kiln.layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    x = kiln.layers.MaxPooling2D()(x)
    x = kiln.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = kiln.layers.GlobalAveragePooling2D()(x)
    return kiln.Model(inp, kiln.layers.Dense(10)(x)), (32, 32, 3)


def run(name, build, repeats, tmp):
    model, shape = build()
    torch_dir = os.path.join(tmp, f"{name}_torch")
    onnx_path = os.path.join(tmp, f"{name}.onnx")
    model.export(torch_dir, verbose=False)
    model.export(onnx_path, format="onnx", verbose=False)
    program = torch.export.load(os.path.join(torch_dir, "serve.pt2")).module()
    loaded = kiln.export.load(torch_dir)
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    for batch in (1, 1000):
        x = np.random.rand(batch, *shape).astype("float32")
        xt = torch.from_numpy(x)
        reps = repeats if batch == 1 else max(3, repeats // 10)
        with torch.no_grad():
            expected = model.predict(x, batch_size=batch, verbose=0)
            np.testing.assert_allclose(program(xt).numpy(), expected, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=1e-4,
                                       atol=1e-4)
            t_predict = best_time(lambda: model.predict(x, batch_size=batch, verbose=0), reps)
            t_eager = best_time(lambda: model(xt), reps)
            t_torch = best_time(lambda: program(xt), reps)
        t_loaded = best_time(lambda: loaded.serve(xt), reps)
        t_ort = best_time(lambda: session.run(None, {"x": x}), reps)
        print(f"{name:4s} batch {batch:5d}: kiln predict {t_predict * 1e3:8.3f} ms | "
              f"eager {t_eager * 1e3:8.3f} ms ({t_predict / t_eager:5.2f}x) | "
              f"torch artifact {t_torch * 1e3:8.3f} ms ({t_predict / t_torch:5.2f}x) | "
              f"kiln.export.load {t_loaded * 1e3:8.3f} ms ({t_predict / t_loaded:5.2f}x) | "
              f"onnxruntime {t_ort * 1e3:8.3f} ms ({t_predict / t_ort:5.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"{torch.get_num_threads()} torch threads")
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in (("mlp", mlp), ("cnn", cnn)):
            run(name, build, args.repeats, tmp)


if __name__ == "__main__":
    main()
