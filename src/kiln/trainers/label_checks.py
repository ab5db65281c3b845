"""First-batch checks that targets fit the loss, with errors that say what to change.

They run once per `fit()`/`evaluate()` (on the first batch), so they cost nothing per
step. Later batches call the loss directly.
"""

import torch

_SPARSE = {"sparse_categorical_crossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "categorical_focal_crossentropy",
                "categorical_generalized_cross_entropy", "categorical_hinge"}


def _shape(x):
    return tuple(getattr(x, "shape", ()))


def binary_or_sparse(y_true, y_pred):
    """Keras 3's rule for `"accuracy"`/`"crossentropy"`: `(is_binary, is_sparse)`."""
    t, p = _shape(y_true), _shape(y_pred)
    t_last = t[-1] if t else 1
    p_last = p[-1] if p else 1
    is_binary = p_last == 1
    is_sparse = len(t) < len(p) or (t_last == 1 and p_last > 1)
    return is_binary, is_sparse


def _family(loss):
    fn = getattr(loss, "fn", loss)
    return getattr(fn, "__name__", "")


def _describe(x):
    dtype = getattr(x, "dtype", None)
    dtype = str(dtype).replace("torch.", "") if dtype is not None else type(x).__name__
    return f"shape {_shape(x)} ({dtype})"


def shape_problem(loss, y_true, y_pred):
    """A sentence describing why `y_true` cannot go with `y_pred` for `loss`, or None."""
    t, p = _shape(y_true), _shape(y_pred)
    if t and p and t[0] != p[0]:
        return (f"the targets hold {t[0]} samples but the predictions {p[0]}. Give as many "
                "targets as inputs.")
    family = _family(loss)
    if family in _SPARSE and p:
        expected = p[:-1]
        if t != expected and t != expected + (1,):
            hint = (" The targets look one-hot encoded: use CategoricalCrossentropy "
                    "(loss='categorical_crossentropy'), or pass integer class indices."
                    if t == p else "")
            return (f"{family} expects integer class indices shaped {expected} (or "
                    f"{expected + (1,)}), but received targets of shape {t}.{hint}")
    if family in _CATEGORICAL and t != p:
        if len(t) < len(p) or (t and t[-1] == 1 and p[-1] > 1):
            return (f"{family} expects one-hot targets shaped like the predictions {p}, but "
                    f"received targets of shape {t}, which look like integer class indices. "
                    "Use SparseCategoricalCrossentropy (loss='sparse_categorical_crossentropy')"
                    " or one-hot encode the labels.")
        return f"{family} expects targets shaped like the predictions {p}; received {t}."
    return None


def checked_loss(loss, output_name, y_true, y_pred, sample_weight):
    """`loss(y_true, y_pred, sample_weight)`, explaining a failure in terms of shapes."""
    where = f" for output '{output_name}'" if output_name else ""
    name = getattr(loss, "name", type(loss).__name__)
    problem = shape_problem(loss, y_true, y_pred)
    if problem is not None:
        raise ValueError(
            f"Targets do not fit loss '{name}'{where}: {problem} Received y_true "
            f"{_describe(y_true)}, y_pred {_describe(y_pred)}."
        )
    try:
        value = loss(y_true, y_pred, sample_weight)
    except (ValueError, RuntimeError, IndexError, TypeError) as e:
        raise ValueError(
            f"Could not compute loss '{name}'{where} with y_true {_describe(y_true)} and "
            f"y_pred {_describe(y_pred)}: {e} Check that the targets have the shape the loss "
            "expects."
        ) from e
    if isinstance(value, torch.Tensor) and value.dim() != 0:
        raise ValueError(
            f"Loss '{name}'{where} returned a tensor of shape {tuple(value.shape)}; "
            "`compile()` needs a scalar loss. Use a reducing `reduction` (such as "
            "'sum_over_batch_size') or reduce inside the loss function."
        )
    return value
