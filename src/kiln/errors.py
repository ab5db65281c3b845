"""Every exception kiln raises on purpose, each saying when it happens and how to fix it.

The classes also derive from the builtin Python exception that Keras raises in the same
situation (`ValueError`, `TypeError`), so `except ValueError:` code written for Keras keeps
working with kiln.
"""

__all__ = [
    "KilnError",
    "FileFormatError",
    "UnsafeFileError",
    "WeightsMismatchError",
    "DeserializationError",
    "UnsafeDeserializationError",
    "ExportError",
    "RevivedModelError",
]


class KilnError(Exception):
    """Base class of every error kiln raises deliberately.

    Catch it to handle any kiln failure at once:

        try:
            model = kiln.saving.load_model("model.keras")
        except kiln.errors.KilnError as err:
            print("could not load:", err)
    """


class FileFormatError(KilnError, ValueError):
    """A file is damaged, hostile, or in a format kiln does not support.

    Raised when reading a `.keras` archive, a `.weights.h5` file, a JSON member, a
    safetensors file or a shard index whose bytes do not follow the format: a truncated
    download, a file that is not a zip/HDF5 at all, invalid UTF-8 or JSON, a size or
    nesting limit exceeded. The message names the file part that failed.

    Fix: re-download or re-export the file; check that the path points at the file you
    meant (for example a `.keras` archive rather than a directory). If the file comes from
    a newer tool, re-save it with the Keras 3 layout.
    """


class UnsafeFileError(FileFormatError):
    """A file contains content kiln refuses to read because it could be an attack.

    Examples: a zip member named `../../.bashrc`, an absolute path or a symlink; an HDF5
    external or soft link, an external-storage or virtual dataset; a dataset or zip member
    declaring far more data than the file holds (a "bomb").

    Fix: do not load files from sources you do not trust. A file written by Keras or kiln
    never contains these structures; if you produced the file yourself with another tool,
    re-save it through `model.save()` / `model.save_weights()`.
    """


class WeightsMismatchError(KilnError, ValueError):
    """Stored weights do not fit the model they are loaded into.

    Raised with every problem listed at once (missing variables, extra variables, shape or
    dtype mismatches); `problems` holds one human-readable line per problem:

        try:
            model.load_weights("old.weights.h5")
        except kiln.errors.WeightsMismatchError as err:
            for line in err.problems:
                print(line)

    Fix: build the model exactly as it was when the weights were saved (same layers, same
    units, same order), or pass `skip_mismatch=True` to load what fits.
    """

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class DeserializationError(KilnError, TypeError):
    """A serialized config could not be turned back into an object.

    Raised when a config names a class that is neither built in nor registered, when a
    class cannot be rebuilt from its `get_config()` output, or when the config structure is
    malformed.

    Fix: decorate custom classes with `@kiln.saving.register_keras_serializable()` and
    import them before loading, or pass them in `custom_objects={"Name": cls}`.
    """


class UnsafeDeserializationError(DeserializationError, ValueError):
    """A config asks to run stored code (a Python lambda, pickled data) in safe mode.

    Fix: only if you trust the file's author, load with `safe_mode=False` or call
    `kiln.config.enable_unsafe_deserialization()`. Better: replace the lambda with a named,
    registered function and re-save.
    """


class ExportError(KilnError, ValueError):
    """A model, layer or function could not be exported to an inference artifact.

    Raised by `model.export()`, `kiln.export.ExportArchive` and `model.save("dir")` when:
    the model was never built (so its input shapes are unknown); `input_signature` does not
    match the inputs the model expects; or the Python code of a layer's `call()` cannot be
    captured as a static program, typically because it branches on the *value* of a tensor:

        def call(self, x):
            if kiln.ops.sum(x) > 0:        # fails: the branch depends on data
                return x
            return -x

    The message names the layer (or input) and says what to change. Fix: build the model
    (call it on a batch) before exporting; pass an `input_signature` of `kiln.InputSpec`s
    whose shapes and dtypes match the model's inputs; replace value-dependent `if`/`while`
    with tensor ops (`kiln.ops.where(kiln.ops.sum(x) > 0, x, -x)`). A failed export never
    leaves a partial artifact behind.
    """


class RevivedModelError(KilnError, NotImplementedError):
    """A model revived from its exported inference program was asked to train.

    `kiln.models.load_model("my_model")` falls back to the directory's exported program
    when a class the model needs (e.g. a custom subclass) is not available. That revived
    model can be called, and supports `predict()` and `evaluate()`, but it holds only a
    frozen forward pass: no layers, no trainable variables, no gradients.

    Fix: make the missing classes importable (register them with
    `@kiln.saving.register_keras_serializable()` or pass `custom_objects=`) and load again
    to get the full, trainable model.
    """
