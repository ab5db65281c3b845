"""Training (`kiln.trainers`): what `Model.compile/fit/evaluate/predict` run.

`kiln.trainers.trainer` holds the functions the `Model` methods delegate to, with the
same signatures (the model comes first).
"""

from kiln.trainers.trainer import (
    compile,
    compile_from_config,
    compute_loss,
    compute_metrics,
    evaluate,
    fit,
    get_compile_config,
    get_metrics_result,
    model_metrics,
    predict,
    predict_on_batch,
    reset_metrics,
    test_on_batch,
    train_on_batch,
)

__all__ = [
    "compile", "compile_from_config", "compute_loss", "compute_metrics", "evaluate", "fit",
    "get_compile_config", "get_metrics_result", "model_metrics", "predict", "predict_on_batch",
    "reset_metrics", "test_on_batch", "train_on_batch",
]
