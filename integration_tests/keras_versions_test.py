"""Archives written by several Keras 3 releases load in kiln and keep training.

`test_data/keras_versions/<release>/` holds a small zoo saved by that release (see the
folder's `make_golden.py`, which also provides the builders used here with `kiln`). For
every release folder and every model: kiln loads the archive, reproduces Keras's
predictions and every optimizer variable, and can train one more step. The MLP's
`.weights.h5` loads into the same architecture built with kiln.
"""

import importlib.util
import os

import numpy as np
import pytest

import kiln

pytestmark = pytest.mark.needs("saving", "serialization", "training")

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "test_data",
                      "keras_versions")


def _generator():
    spec = importlib.util.spec_from_file_location(
        "keras_versions_make_golden", os.path.join(GOLDEN, "make_golden.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ZOO = _generator()
RELEASES = sorted((d for d in os.listdir(GOLDEN) if os.path.isdir(os.path.join(GOLDEN, d))),
                  key=lambda v: tuple(int(p) for p in v.split(".")))


def test_every_expected_release_is_present():
    assert {"3.8.0", "3.10.0", "3.12.0", "3.14.0", "3.15.1"} <= set(RELEASES)


def _expected(release):
    with np.load(os.path.join(GOLDEN, release, "expected.npz")) as data:
        return {key: data[key] for key in data.files}


def _arrays(expected, name, kind):
    count = sum(1 for key in expected if key.startswith(f"{name}/{kind}/"))
    return [expected[f"{name}/{kind}/{i}"] for i in range(count)]


def _as_list(outputs):
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(kiln.ops.convert_to_numpy(o)) for o in outputs]


def _check_optimizer(model, expected, name):
    ours = [np.asarray(kiln.ops.convert_to_numpy(v)) for v in model.optimizer.variables]
    theirs = _arrays(expected, name, "opt")
    assert len(ours) == len(theirs), (
        f"{name}: kiln's optimizer has {len(ours)} variables, the file {len(theirs)}")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"{name}: optimizer variable {i} shape {a.shape} != {b.shape}"
        np.testing.assert_allclose(a, b, atol=1e-6, err_msg=f"{name}: optimizer variable {i}")


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", list(ZOO.ZOO))
def test_keras_archive_loads(release, name):
    expected = _expected(release)
    assert str(expected["keras_version"]) == release
    model = kiln.models.load_model(os.path.join(GOLDEN, release, f"{name}.keras"))
    xs, ys = _arrays(expected, name, "x"), _arrays(expected, name, "y")
    x, y = ZOO.fit_inputs(name, xs, ys)
    predictions = _as_list(model.predict(x, verbose=0))
    wanted = _arrays(expected, name, "pred")
    assert len(predictions) == len(wanted)
    for got, want in zip(predictions, wanted):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    _check_optimizer(model, expected, name)

    iterations = int(kiln.ops.convert_to_numpy(model.optimizer.iterations))
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert int(kiln.ops.convert_to_numpy(model.optimizer.iterations)) == iterations + 1


@pytest.mark.parametrize("release", RELEASES)
def test_keras_weights_file_loads_into_kiln_model(release):
    expected = _expected(release)
    path = os.path.join(GOLDEN, release, "mlp.weights.h5")
    model, optimizer, loss, metrics, _ = ZOO.mlp(kiln)
    model.load_weights(path)  # uncompiled: the file's optimizer group is ignored
    x = _arrays(expected, "mlp", "x")[0]
    np.testing.assert_allclose(_as_list(model.predict(x, verbose=0))[0],
                               expected["mlp/pred/0"], atol=1e-5, rtol=0)

    compiled, optimizer, loss, metrics, _ = ZOO.mlp(kiln)
    compiled.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    compiled.load_weights(path)  # compiled: the Adam state comes back too
    np.testing.assert_allclose(_as_list(compiled.predict(x, verbose=0))[0],
                               expected["mlp/pred/0"], atol=1e-5, rtol=0)
    _check_optimizer(compiled, expected, "mlp")
