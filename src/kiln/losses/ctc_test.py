import numpy as np

from kiln import losses
from kiln.losses._oracle_testlib import (
    assert_close,
    check_config_against_keras,
    check_loss_against_keras,
    keras,
    rng,
)


def test_ctc_matches_keras():
    labels = np.array([[1, 2, 3, 0], [2, 2, 0, 0], [4, 1, 1, 3]], dtype="int32")
    logits = rng(0).normal(size=(3, 10, 5)).astype("float32")
    check_loss_against_keras(losses.CTC, keras.losses.CTC, {}, labels, logits,
                             sample_weights=(np.array([0.5, 1.0, 0.0], "float32"),))
    assert_close(losses.ctc(labels, logits), keras.losses.ctc(labels, logits), rtol=1e-5)
    check_config_against_keras(losses.CTC, keras.losses.CTC)
    check_config_against_keras(losses.CTC, keras.losses.CTC, {"reduction": "sum"})
