"""Training and inference overhead of kiln's `fit()`/`predict()` against a hand-written torch
loop doing the same work, and against Keras 3's `fit()` (torch backend).

The workload is the tf.keras checkpoint tutorial's model at full MNIST scale: a 784-512-10
MLP (relu, dropout 0.2) trained with sparse cross-entropy from logits and Adam for one
epoch on 60,000 random samples, at batch sizes 32 and 128. The reference loop shuffles with
`torch.randperm`, gathers batches by index, runs the same modules and `torch.optim.Adam
(foreach=True)`, and keeps a running loss sum, as a careful hand-written loop would.
A second reference does exactly kiln's arithmetic (kernels stored `(in, out)`, Adam in
Keras's formulation) so that its ratio is kiln's framework overhead alone.
`predict()` on 10,000 samples is compared with a `torch.no_grad()` loop, and `import kiln`
with `import torch` (fresh interpreters). Keras runs in a subprocess so the two libraries'
torch settings never meet.

Usage: python benchmarks/training.py [--repeats 3] [--threads 1] [--no-keras] [--wall]
                                     [--parts fit,predict,import]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

import kiln

N_TRAIN, N_PREDICT, FEATURES, CLASSES, HIDDEN = 60_000, 10_000, 784, 10, 512
# CPU time of this process by default: on a shared machine it is far less disturbed by
# other processes than wall time (every contender runs on one torch thread). `--wall`
# switches to wall-clock time.
clock = time.process_time


def make_data(seed=0):
    rng = np.random.RandomState(seed)
    x = rng.rand(N_TRAIN, FEATURES).astype("float32")
    y = rng.randint(0, CLASSES, N_TRAIN).astype("int64")
    return x, y


# -- kiln ------------------------------------------------------------------------------------
def kiln_model():
    model = kiln.Sequential([
        kiln.Input((FEATURES,)),
        kiln.layers.Dense(HIDDEN, activation="relu"),
        kiln.layers.Dropout(0.2),
        kiln.layers.Dense(CLASSES),
    ])
    model.compile(optimizer="adam",
                  loss=kiln.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def time_kiln_fit(x, y, batch_size):
    model = kiln_model()
    model.fit(x[:512], y[:512], batch_size=batch_size, epochs=1, verbose=0)  # warm-up
    start = clock()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return clock() - start


def time_kiln_predict(model, x, batch_size):
    model.predict(x[:512], batch_size=batch_size, verbose=0)
    start = clock()
    model.predict(x, batch_size=batch_size, verbose=0)
    return clock() - start


# -- the hand-written torch reference -------------------------------------------------------
def torch_model():
    return torch.nn.Sequential(
        torch.nn.Linear(FEATURES, HIDDEN), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(HIDDEN, CLASSES))


class KerasLayoutMLP(torch.nn.Module):
    """The same MLP with kernels stored `(in, out)` as kiln/Keras store them, so that the
    matrix products are exactly kiln's (`addmm(bias, x, kernel)`)."""

    def __init__(self):
        super().__init__()
        reference = torch_model()
        self.w1 = torch.nn.Parameter(reference[0].weight.detach().T.contiguous())
        self.b1 = torch.nn.Parameter(reference[0].bias.detach().clone())
        self.w2 = torch.nn.Parameter(reference[3].weight.detach().T.contiguous())
        self.b2 = torch.nn.Parameter(reference[3].bias.detach().clone())

    def forward(self, x):
        h = torch.relu(torch.addmm(self.b1, x, self.w1))
        h = torch.nn.functional.dropout(h, 0.2, self.training)
        return torch.addmm(self.b2, h, self.w2)


def torch_epoch(model, optimizer, x, y, batch_size):
    model.train()
    n = x.shape[0]
    order = torch.randperm(n)
    running = torch.zeros(())
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        xb, yb = x.index_select(0, index), y.index_select(0, index)
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        running += loss.detach() * xb.shape[0]
    return float(running) / n


class SameMathAdam:
    """Adam with the arithmetic kiln's (and Keras's) Adam performs, as foreach kernels.

    `torch.optim.Adam` divides by a bias-corrected sqrt(v) and adds epsilon after that;
    Keras folds both corrections into the step size. This reference isolates kiln's
    framework overhead from that difference in optimizer arithmetic.
    """

    def __init__(self, params, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.params = list(params)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.lr, self.beta_1, self.beta_2, self.epsilon, self.t = lr, beta_1, beta_2, epsilon, 0

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        grads = [p.grad for p in self.params]
        alpha = self.lr * (1 - self.beta_2 ** self.t) ** 0.5 / (1 - self.beta_1 ** self.t)
        torch._foreach_mul_(self.m, self.beta_1)
        torch._foreach_add_(self.m, grads, alpha=1 - self.beta_1)
        torch._foreach_mul_(self.v, self.beta_2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - self.beta_2)
        denominators = torch._foreach_sqrt(self.v)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_addcdiv_(self.params, self.m, denominators, value=-alpha)


def time_torch_fit(x, y, batch_size, same_math=False):
    model = KerasLayoutMLP() if same_math else torch_model()
    if same_math:
        optimizer = SameMathAdam(model.parameters())
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    torch_epoch(model, optimizer, xt[:512], yt[:512], batch_size)  # warm-up
    start = clock()
    # Like fit(), the reference converts the numpy data itself.
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    torch_epoch(model, optimizer, xt, yt, batch_size)
    return clock() - start


def time_torch_predict(model, x, batch_size):
    def run(data):
        model.eval()
        xt = torch.from_numpy(data)
        outputs = []
        with torch.no_grad():
            for start in range(0, xt.shape[0], batch_size):
                outputs.append(model(xt[start:start + batch_size]))
        return torch.cat(outputs).numpy()

    run(x[:512])
    start = clock()
    run(x)
    return clock() - start


# -- Keras 3 in a subprocess ----------------------------------------------------------------
KERAS_SCRIPT = r"""
import json, os, sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
clock = time.perf_counter if sys.argv[4] == "wall" else time.process_time
import keras
batch_sizes, repeats = json.loads(sys.argv[2]), int(sys.argv[3])
rng = np.random.RandomState(0)
x = rng.rand(60000, 784).astype("float32"); y = rng.randint(0, 10, 60000).astype("int64")
def model():
    m = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    m.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m
out = {}
for bs in batch_sizes:
    best = float("inf")
    for _ in range(repeats):
        m = model(); m.fit(x[:512], y[:512], batch_size=bs, verbose=0)
        t = clock(); m.fit(x, y, batch_size=bs, epochs=1, verbose=0)
        best = min(best, clock() - t)
    out[str(bs)] = best
print(json.dumps(out))
"""


def time_keras_fit(batch_sizes, repeats, threads):
    env = dict(os.environ, KERAS_BACKEND="torch")
    kind = "wall" if clock is time.perf_counter else "cpu"
    result = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT, str(threads), json.dumps(batch_sizes),
         str(repeats), kind], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print("Keras run failed:", result.stderr.strip().splitlines()[-1:])
        return {}
    return {int(k): v for k, v in json.loads(result.stdout.strip().splitlines()[-1]).items()}


def time_import(module, repeats=5):
    name = "perf_counter" if clock is time.perf_counter else "process_time"
    code = (f"import time; t = time.{name}(); import {module}; "
            f"print(time.{name}() - t)")
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        times.append(float(out.stdout.strip()))
    return min(times)


def _rotated(names, shift):
    shift %= len(names)
    return names[shift:] + names[:shift]


def run_fit(args, x, y, batch_sizes):
    print(f"fit: one epoch, {N_TRAIN} samples, {FEATURES}-{HIDDEN}-{CLASSES} MLP with dropout, "
          f"Adam; best of {args.repeats}; torch threads={args.threads}")
    fit_times = {}
    for bs in batch_sizes:
        best = {"kiln": float("inf"), "torch": float("inf"), "same": float("inf")}
        runs = {"torch": lambda: time_torch_fit(x, y, bs),
                "same": lambda: time_torch_fit(x, y, bs, same_math=True),
                "kiln": lambda: time_kiln_fit(x, y, bs)}
        for repeat in range(args.repeats):
            # Interleaved, and in a rotating order, so that load changes and cache
            # effects hit every contender alike.
            for name in _rotated(list(runs), repeat):
                best[name] = min(best[name], runs[name]())
        fit_times[bs] = best
    keras_times = {} if args.no_keras else time_keras_fit(batch_sizes, args.repeats,
                                                          args.threads)
    for bs in batch_sizes:
        t = fit_times[bs]
        print(f"  batch {bs:>3}: kiln {t['kiln']:6.2f}s | torch loop + torch.optim.Adam "
              f"{t['torch']:6.2f}s  kiln/torch {t['kiln'] / t['torch']:5.3f}x | torch loop + "
              f"kiln's arithmetic {t['same']:6.2f}s  kiln/torch {t['kiln'] / t['same']:5.3f}x")
        if bs in keras_times:
            print(f"             keras {keras_times[bs]:6.2f}s  "
                  f"kiln/keras {t['kiln'] / keras_times[bs]:5.3f}x")


def run_predict(args, x, batch_sizes):
    model = kiln_model()
    reference, same_layout = torch_model(), KerasLayoutMLP()
    xp = x[:N_PREDICT]
    print(f"predict: {N_PREDICT} samples, best of {args.repeats * 5}")
    for bs in batch_sizes:
        best = {"kiln": float("inf"), "torch": float("inf"), "same": float("inf")}
        runs = {"torch": lambda: time_torch_predict(reference, xp, bs),
                "same": lambda: time_torch_predict(same_layout, xp, bs),
                "kiln": lambda: time_kiln_predict(model, xp, bs)}
        for repeat in range(args.repeats * 5):
            for name in _rotated(list(runs), repeat):
                best[name] = min(best[name], runs[name]())
        print(f"  batch {bs:>3}: kiln {best['kiln'] * 1e3:7.1f}ms | torch no_grad loop "
              f"{best['torch'] * 1e3:7.1f}ms  kiln/torch {best['kiln'] / best['torch']:5.3f}x | "
              f"same layout {best['same'] * 1e3:7.1f}ms  kiln/torch "
              f"{best['kiln'] / best['same']:5.3f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for every contender (default 1)")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--wall", action="store_true", help="time with the wall clock")
    parser.add_argument("--parts", default="fit,predict,import",
                        help="comma-separated subset of fit,predict,import")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    global clock
    if args.wall:
        clock = time.perf_counter
    print(f"timing: {'wall-clock' if args.wall else 'CPU'} time")
    torch.set_num_threads(args.threads)
    x, y = make_data()
    batch_sizes = [32, 128]
    if "fit" in parts:
        run_fit(args, x, y, batch_sizes)
    if "predict" in parts:
        run_predict(args, x, batch_sizes)
    if "import" in parts:
        t_torch, t_kiln = time_import("torch"), time_import("kiln")
        print(f"import: torch {t_torch:.3f}s  kiln {t_kiln:.3f}s  "
              f"kiln/torch {t_kiln / t_torch:5.3f}x")


if __name__ == "__main__":
    main()
