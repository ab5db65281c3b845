import numpy as np
import pytest

import kiln
from kiln.trainers import _oracle_testlib as lib

CASES = [
    dict(metrics=["mae", "mae"], weighted_metrics=["mae", "mse"]),
    dict(metrics=[kiln.metrics.MeanSquaredError(name="mse_a"), "mse"]),
    dict(metrics=[[], ["accuracy", "mse"]]),
    dict(metrics={"cls": "accuracy"}, weighted_metrics={"reg": ["mae"]}),
    dict(loss=["mse", None]),
    dict(loss=[None, "sparse_categorical_crossentropy"], metrics={"reg": ["mae"]}),
]


def _convert(value, lib_module):
    """The same compile argument for the other library (metric objects rebuilt by name)."""
    if isinstance(value, kiln.metrics.Metric):
        return getattr(lib_module.metrics, type(value).__name__)(name=value.name)
    if isinstance(value, dict):
        return {k: _convert(v, lib_module) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(v, lib_module) for v in value]
    return value


@pytest.mark.filterwarnings("ignore:Gradients do not exist")
@pytest.mark.parametrize("case", range(len(CASES)))
def test_log_names_match_keras(case):
    keras = pytest.importorskip("keras")
    ours, theirs = lib.twins(lib.two_heads)
    x, y = lib.two_heads_data(8)
    kwargs = dict(loss="mse", **CASES[case]) if "loss" not in CASES[case] else CASES[case]
    sw = np.linspace(0.5, 1.5, 8).astype("float32")
    ours.compile(optimizer="sgd", **kwargs)
    theirs.compile(optimizer="sgd", **_convert(kwargs, keras))
    fit = dict(batch_size=4, shuffle=False, verbose=0, sample_weight=[sw, sw])
    if case == len(CASES) - 1:
        y = [y["reg"], y["cls"].reshape(-1, 1)]
    else:
        y = [y["reg"], np.eye(3, dtype="float32")[y["cls"]]]
    h_ours = ours.fit(x, y, **fit).history
    h_theirs = theirs.fit(x, y, **fit).history
    assert list(h_ours) == list(h_theirs)
    for key in h_ours:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], atol=1e-5, err_msg=key)
    assert ours.metrics_names == theirs.metrics_names
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               atol=1e-5)


def test_single_output_metric_list_for_two_outputs_is_rejected():
    model = lib.two_heads(kiln)
    x, y = lib.two_heads_data(8)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    with pytest.raises(ValueError, match=r"2 outputs \['reg', 'cls'\].*dict keyed by output"):
        model.fit(x, y, verbose=0)


def test_named_metrics_and_reset():
    model = lib.two_heads(kiln)
    x, y = lib.two_heads_data(8)
    model.compile(optimizer="sgd", loss=["mse", None],
                  metrics={"reg": ["mae"], "cls": ["accuracy"]})
    model.fit(x, y, verbose=0)
    compiled = model.metrics[1]
    assert list(compiled.named_metrics()) == ["reg_mae", "cls_accuracy"]
    assert len(compiled.variables) == 4
    model.reset_metrics()
    assert all(float(v.numpy()) == 0.0 for v in compiled.variables)
