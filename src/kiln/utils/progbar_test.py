import io
import re
import sys

import pytest

from kiln.utils import progbar
from kiln.utils.progbar import Progbar

_TIME = re.compile(r"\d+(s|ms|us)(/step)?")


class _Tty(io.StringIO):
    def isatty(self):
        return True


def _run(verbose, values_per_step, target=4, stream=None, monkeypatch=None, **kwargs):
    out = stream if stream is not None else io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progbar(target, verbose=verbose, interval=0.0, **kwargs)
    for step, values in enumerate(values_per_step, 1):
        bar.update(step, values)
    return out.getvalue()


def test_non_tty_verbose_1_prints_only_the_final_line(monkeypatch):
    text = _run(1, [[("loss", 0.5), ("acc", 0.25)]] * 4, stateful_metrics={"loss", "acc"},
                monkeypatch=monkeypatch)
    assert text.count("\n") == 1 and "\r" not in text and "\x1b" not in text
    assert re.fullmatch(r"4/4 \u2501{20} 0s \d+us/step - loss: 0\.5000 - acc: 0\.2500\n", text)


def test_tty_redraws_in_place_with_colours(monkeypatch):
    text = _run(1, [[("loss", 1.0)]] * 4, stream=_Tty(), stateful_metrics={"loss"},
                monkeypatch=monkeypatch)
    frames = text.split("\r")[1:]
    assert len(frames) == 4 and text.endswith("\n")
    assert "\x1b[32m" in frames[-1] and "\x1b[1m" in frames[-1]
    assert "1/4" in progbar._strip_ansi(frames[0])


def test_verbose_2_one_summary_line(monkeypatch):
    text = _run(2, [[("loss", 2.0)], [("loss", 4.0)], []], target=3, monkeypatch=monkeypatch)
    # Values not declared stateful are averaged over steps, as in Keras.
    assert re.fullmatch(r"3/3 - 0s - \d+us/step - loss: 3\.0000\n", text)


def test_verbose_0_is_silent_and_tiny_values_use_scientific_notation(monkeypatch):
    assert _run(0, [[("loss", 1.0)]] * 4, monkeypatch=monkeypatch) == ""
    assert progbar.format_value(1e-5) == "1.0000e-05"
    assert progbar.format_value(0.5) == "0.5000"


def test_unknown_target(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = Progbar(None, verbose=1)
    bar.update(3, [("loss", 1.0)], finalize=True)
    assert out.getvalue().startswith("      3/Unknown")


def test_both_metric_lists_rejected():
    with pytest.raises(ValueError, match="not both"):
        Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_same_text_as_keras(monkeypatch):
    keras_progbar = pytest.importorskip("keras.src.utils.progbar")
    steps = [[("loss", 0.75), ("accuracy", 0.5)]] * 3
    ours = _run(2, steps, target=3, stateful_metrics={"loss", "accuracy"},
                monkeypatch=monkeypatch)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = keras_progbar.Progbar(3, verbose=2, stateful_metrics={"loss", "accuracy"})
    for step, values in enumerate(steps, 1):
        bar.update(step, values)
    assert _TIME.sub("T", ours) == _TIME.sub("T", out.getvalue())
    # The live bar's final frame matches Keras's too (escape codes included).
    ours = _run(1, steps, target=3, stream=_Tty(), stateful_metrics={"loss", "accuracy"},
                monkeypatch=monkeypatch).split("\r")[-1]
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = keras_progbar.Progbar(3, verbose=1, stateful_metrics={"loss", "accuracy"},
                                interval=0.0)
    for step, values in enumerate(steps, 1):
        bar.update(step, values)
    theirs = out.getvalue().split("\r")[-1]
    assert _TIME.sub("T", ours).rstrip() == _TIME.sub("T", theirs).rstrip()
