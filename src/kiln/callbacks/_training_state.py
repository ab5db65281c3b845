"""Capturing and restoring what makes a training run reproducible, for BackupAndRestore.

- Random number generators: Python's `random`, NumPy's global generator, torch's CPU
  (and, when initialized, CUDA) generators, and kiln's global `SeedGenerator`.
- Callback state: the plain attributes of each callback (numbers, strings, lists and
  dicts of them, arrays such as EarlyStopping's `best_weights`), found generically so
  that user callbacks are covered too. Functions, files and other objects are skipped.

Everything becomes a JSON-ready dict plus `{name: array}`; arrays are stored as tensors
of the backup checkpoint and referred to by name.
"""

import math
import random

import numpy as np
import torch

_UNSUPPORTED = object()
_SKIP_ATTRIBUTES = frozenset({"params", "_model", "model", "validation_data", "_siblings"})


# -- random number generators -------------------------------------------------------------
def capture_rng(arrays, prefix):
    """Returns the JSON part of every generator's state; arrays go into `arrays`."""
    from kiln.random import seed_generator

    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    arrays[f"{prefix}_numpy_keys"] = np.array(keys, dtype=np.uint32)
    arrays[f"{prefix}_torch"] = torch.get_rng_state().numpy().copy()
    state = {"python": [version, list(internal), gauss],
             "numpy": {"name": name, "pos": int(pos), "has_gauss": int(has_gauss),
                       "cached": float(cached)},
             "cuda": 0, "seed_generator": False}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states = torch.cuda.get_rng_state_all()
        for i, s in enumerate(states):
            arrays[f"{prefix}_cuda_{i}"] = s.numpy().copy()
        state["cuda"] = len(states)
    generator = seed_generator._global_generator
    if generator is not None:
        arrays[f"{prefix}_seed_generator"] = generator.state.numpy().copy()
        state["seed_generator"] = True
    return state


def restore_rng(state, arrays, prefix):
    """Puts every generator back into the state `capture_rng` recorded."""
    from kiln.random import seed_generator

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy = state["numpy"]
    np.random.set_state((numpy["name"], np.asarray(arrays[f"{prefix}_numpy_keys"], np.uint32),
                         numpy["pos"], numpy["has_gauss"], numpy["cached"]))
    torch.set_rng_state(torch.from_numpy(np.asarray(arrays[f"{prefix}_torch"], np.uint8)))
    for i in range(state.get("cuda", 0)):
        if torch.cuda.is_available() and i < torch.cuda.device_count():
            torch.cuda.set_rng_state(torch.from_numpy(arrays[f"{prefix}_cuda_{i}"]), i)
    if state.get("seed_generator"):
        generator = seed_generator.global_seed_generator()
        generator.state.assign(np.asarray(arrays[f"{prefix}_seed_generator"]))
    else:
        seed_generator.reset_global_seed_generator()


def array_names(state, prefix):
    """The array names `capture_rng` used for `state`."""
    names = [f"{prefix}_numpy_keys", f"{prefix}_torch"]
    names += [f"{prefix}_cuda_{i}" for i in range(state.get("cuda", 0))]
    if state.get("seed_generator"):
        names.append(f"{prefix}_seed_generator")
    return names


# -- callback attributes ----------------------------------------------------------------------
def _encode(value, arrays, depth=0):
    if depth > 8:
        return _UNSUPPORTED
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.generic)) and not isinstance(value, np.ndarray):
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, float) and not math.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if isinstance(value, (np.ndarray, torch.Tensor)):
        name = f"cb_array_{len(arrays)}"
        is_torch = isinstance(value, torch.Tensor)
        arrays[name] = value.detach().cpu().numpy().copy() if is_torch else value.copy()
        return {"__array__": name, "torch": is_torch}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, arrays, depth + 1) for v in value]
        if any(item is _UNSUPPORTED for item in items):
            return _UNSUPPORTED
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: _encode(v, arrays, depth + 1) for k, v in value.items()}
        if any(item is _UNSUPPORTED for item in items.values()):
            return _UNSUPPORTED
        return {"__dict__": items}
    return _UNSUPPORTED


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if isinstance(value, dict):
        if "__float__" in value:
            return float(value["__float__"])
        if "__array__" in value:
            array = np.asarray(arrays[value["__array__"]])
            return torch.from_numpy(array.copy()) if value.get("torch") else array
        if "__tuple__" in value:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        return {k: _decode(v, arrays) for k, v in value["__dict__"].items()}
    return value


def capture_callback(callback, arrays):
    """The plain attributes of `callback`, JSON-ready (arrays moved into `arrays`)."""
    state = {}
    for name, value in vars(callback).items():
        if name in _SKIP_ATTRIBUTES:
            continue
        encoded = _encode(value, arrays)
        if encoded is not _UNSUPPORTED:
            state[name] = encoded
    return state


def restore_callback(callback, state, arrays):
    for name, value in state.items():
        setattr(callback, name, _decode(value, arrays))


def callback_array_names(state):
    """Every array name referenced by a list of captured callback states."""
    names = []

    def visit(value):
        if isinstance(value, list):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            if "__array__" in value:
                names.append(value["__array__"])
            for v in value.values():
                visit(v)

    visit(state)
    return names
