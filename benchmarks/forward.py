"""Forward-pass overhead of kiln layers against the same stack written in plain torch.

Prints, for an MLP, a small CNN and an attention block (plus a tiny attention block that
shows the fixed per-call overhead), the time per forward pass of the kiln model (eager
`model(x)`), of the same computation written in plain torch, and the ratio. Both share the
weights and use the same torch kernels (in-place ReLU, fused attention), so they do exactly
the same arithmetic and the ratio measures kiln's own overhead.

Usage: python benchmarks/forward.py [--repeats 200]
"""

import argparse
import time

import torch

import kiln


def timeit(fns, repeats, rounds=15):
    """Best time per call of each function; the functions take turns round by round, so
    that drift in the machine's speed affects them alike."""
    best = [float("inf")] * len(fns)
    with torch.no_grad():
        for fn in fns:
            for _ in range(10):
                fn()
        for _ in range(rounds):
            for i, fn in enumerate(fns):
                t = time.perf_counter()
                for _ in range(repeats):
                    fn()
                best[i] = min(best[i], (time.perf_counter() - t) / repeats)
    return best


def mlp():
    inp = kiln.Input((784,))
    x = kiln.layers.Dense(512, activation="relu")(inp)
    x = kiln.layers.Dense(256, activation="relu")(x)
    model = kiln.Model(inp, kiln.layers.Dense(10)(x))
    ks = [l for l in model.layers if l.weights]
    # In-place ReLU, as kiln rectifies a layer's fresh output in place outside autograd.
    ref = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(inplace=True),
                              torch.nn.Linear(512, 256), torch.nn.ReLU(inplace=True),
                              torch.nn.Linear(256, 10))
    for lin, layer in zip([ref[0], ref[2], ref[4]], ks):
        lin.weight.data = layer.kernel.value.data.T
        lin.bias.data = layer.bias.value.data
    return model, ref, torch.randn(64, 784)


def cnn():
    inp = kiln.Input((32, 32, 3))
    x = kiln.layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    x = kiln.layers.MaxPooling2D()(x)
    x = kiln.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = kiln.layers.GlobalAveragePooling2D()(x)
    model = kiln.Model(inp, kiln.layers.Dense(10)(x))
    c1, c2, d = [l for l in model.layers if l.weights]

    class Ref(torch.nn.Module):
        def forward(self, x):
            x = x.permute(0, 3, 1, 2)
            x = torch.nn.functional.conv2d(x, c1.kernel.value.permute(3, 2, 0, 1),
                                           c1.bias.value, padding=1).relu_()
            x = torch.nn.functional.max_pool2d(x, 2)
            x = torch.nn.functional.conv2d(x, c2.kernel.value.permute(3, 2, 0, 1),
                                           c2.bias.value, padding=1).relu_()
            x = x.mean(dim=(2, 3))
            return torch.addmm(d.bias.value, x, d.kernel.value)

    return model, Ref(), torch.randn(32, 32, 32, 3)


def attention(batch=32, seq=64, width=128, heads=4):
    q = kiln.Input((seq, width))
    head_dim = width // heads
    mha = kiln.layers.MultiHeadAttention(num_heads=heads, key_dim=head_dim)
    norm = kiln.layers.LayerNormalization()
    model = kiln.Model(q, norm(q + mha(q, q)))

    class Ref(torch.nn.Module):
        # What a torch user would write: flat matmuls for the projections and torch's
        # fused scaled_dot_product_attention, which kiln's MultiHeadAttention also uses.
        def forward(self, x):
            def proj(layer, t):
                out = torch.addmm(layer.bias.value.reshape(-1), t.reshape(-1, width),
                                  layer.kernel.value.reshape(width, -1))
                return out.view(batch, seq, heads, head_dim).transpose(1, 2)

            ctx = torch.nn.functional.scaled_dot_product_attention(
                proj(mha.query_dense, x), proj(mha.key_dense, x), proj(mha.value_dense, x),
                scale=head_dim ** -0.5)
            ctx = ctx.transpose(1, 2).reshape(batch * seq, width)
            out = torch.addmm(mha.output_dense.bias.value, ctx,
                              mha.output_dense.kernel.value.reshape(width, width))
            return torch.nn.functional.layer_norm(x + out.view(batch, seq, width), (width,),
                                                  norm.gamma.value, norm.beta.value,
                                                  eps=norm.epsilon)

    return model, Ref(), torch.randn(batch, seq, width)


def attention_tiny():
    """So small (8 x 16 tokens of width 64) that per-layer Python overhead dominates."""
    return attention(batch=8, seq=16, width=64, heads=4)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, make in (("mlp", mlp), ("cnn", cnn), ("attention", attention),
                       ("attn-tiny", attention_tiny)):
        model, ref, x = make()
        torch.testing.assert_close(model(x), ref(x), atol=1e-4, rtol=1e-4)
        t_kiln, t_ref = timeit([lambda: model(x), lambda: ref(x)], args.repeats)
        print(f"{name:10s} kiln {t_kiln * 1e6:8.1f} us  torch {t_ref * 1e6:8.1f} us  "
              f"ratio {t_kiln / t_ref:.2f}x")


if __name__ == "__main__":
    main()
