import inspect

import pytest

from kiln import losses
from kiln.losses._oracle_testlib import keras


def _keras_table():
    from keras.src.losses import ALL_OBJECTS_DICT

    return ALL_OBJECTS_DICT


def test_every_keras_name_resolves_to_the_same_kind_of_object():
    for name, keras_obj in _keras_table().items():
        if name in ("Loss", "LossFunctionWrapper"):
            continue  # abstract / needs `fn`
        ours = losses.get(name)
        theirs = keras.losses.get(name)
        if inspect.isfunction(keras_obj):
            assert inspect.isfunction(ours) and ours.__name__ == keras_obj.__name__, name
        else:
            assert type(ours).__name__ == type(theirs).__name__, name
            assert ours.get_config() == theirs.get_config(), name


def test_get_returns_functions_for_snake_case_names():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MAE") is losses.mean_absolute_error
    assert losses.get("sparse_categorical_crossentropy") is losses.sparse_categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)


def test_get_passes_through_callables_and_instantiates_classes():
    assert losses.get(None) is None
    fn = lambda y_true, y_pred: y_pred  # noqa: E731
    assert losses.get(fn) is fn
    instance = losses.Huber()
    assert losses.get(instance) is instance
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="Unknown loss identifier: 'nope'") as info:
        losses.get("nope")
    assert "categorical_crossentropy" in str(info.value) and "mse" in str(info.value)
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get(42)


def test_all_objects_and_public_names():
    assert losses.ALL_OBJECTS["MeanSquaredError"] is losses.MeanSquaredError
    assert all(inspect.isclass(c) for c in losses.ALL_OBJECTS.values())
    assert all(hasattr(losses, name) for name in losses.__all__)
    keras_public = {n for n in dir(keras.losses) if not n.startswith("_")}
    missing = keras_public - set(losses.__all__)
    assert not missing, f"kiln.losses lacks Keras names: {sorted(missing)}"


SERIALIZED = [
    (lambda lib: lib.Huber(delta=0.5)),
    (lambda lib: lib.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)),
    (lambda lib: lib.BinaryFocalCrossentropy(alpha=0.4, reduction="sum")),
    (lambda lib: lib.mean_squared_error),
    (lambda lib: lib.categorical_crossentropy),
    (lambda lib: (lib if lib is losses else keras.src.losses).LossFunctionWrapper(
        lib.huber, name="wrapped", delta=0.3)),
]


@pytest.mark.parametrize("make", SERIALIZED)
def test_serialize_matches_keras_and_round_trips(make):
    ours, theirs = make(losses), make(keras.losses)
    config = losses.serialize(ours)
    assert config == keras.losses.serialize(theirs)
    for source in (config, keras.losses.serialize(theirs)):
        back = losses.deserialize(source)
        assert losses.serialize(back) == config
        assert losses.serialize(losses.get(source)) == config
    keras_back = keras.losses.deserialize(config)
    assert keras.losses.serialize(keras_back) == config


def test_function_wrapper_round_trip_keeps_fn_and_kwargs():
    wrapper = losses.LossFunctionWrapper(losses.huber, name="w", delta=0.25, reduction="sum")
    rebuilt = losses.LossFunctionWrapper.from_config(wrapper.get_config())
    assert rebuilt.fn is losses.huber and rebuilt._fn_kwargs == {"delta": 0.25}
    assert rebuilt.reduction == "sum" and rebuilt.name == "w"
