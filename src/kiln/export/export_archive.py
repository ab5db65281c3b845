"""`kiln.export.ExportArchive`: build an inference artifact endpoint by endpoint."""

import keyword
import os
from dataclasses import dataclass

import torch

from kiln.errors import ExportError
from kiln.export import signatures, torch_export, tracing

_RESERVED = frozenset({"endpoints", "signatures", "variable_collections", "manifest", "path",
                       "track", "add_endpoint", "track_and_add_endpoint",
                       "add_variable_collection", "write_out", "default_endpoint"})


@dataclass
class _Endpoint:
    name: str
    fn: object
    arg_names: list
    inputs: list
    outputs: object
    program: object


class ExportArchive:
    """Collects layers, endpoints and variable collections, then writes one artifact.

    Each endpoint is traced with `torch.export` when it is added (so errors show up at
    once) and saved as its own `<name>.pt2` program by `write_out`. The artifact loads
    with `kiln.export.load(path)`, or with plain PyTorch (`torch.export.load`).

    Example:
        >>> layer = kiln.layers.MultiHeadAttention(2, 2)
        >>> _ = layer(x1, x2)                      # build it
        >>> archive = kiln.export.ExportArchive()
        >>> archive.track(layer)
        >>> archive.add_endpoint("call", layer.call, input_signature=[
        ...     kiln.InputSpec(shape=(None, 2, 2)), kiln.InputSpec(shape=(None, 2, 2))])
        >>> archive.add_variable_collection("my_vars", layer.weights)
        >>> archive.write_out("exported_mha_layer")
        >>> revived = kiln.export.load("exported_mha_layer")
        >>> revived.call(query=x1, value=x2)
    """

    def __init__(self):
        self._tracked = []
        self._endpoints = {}
        self._collections = {}

    # -- registration -------------------------------------------------------------------
    def track(self, resource):
        """Registers a built layer or model: its variables become the artifact's state."""
        from kiln.layers.layer import Layer

        if isinstance(resource, Layer):
            if not resource.built:
                raise ExportError(
                    f"Layer '{resource.name}' ({type(resource).__name__}) has not been built, "
                    "so it has no variables to export. Call it on data first (e.g. "
                    "`layer(x)`), then `track()` it."
                )
        elif not isinstance(resource, torch.nn.Module):
            raise ExportError(
                f"track() accepts kiln layers and models (or torch.nn.Modules). Received: "
                f"{resource!r} of type {type(resource).__name__}."
            )
        if not any(r is resource for r in self._tracked):
            self._tracked.append(resource)
        return resource

    def add_endpoint(self, name, fn, input_signature=None):
        """Traces `fn` on `input_signature` and registers it as endpoint `name`.

        Args:
            name: The endpoint's name: a method of the loaded artifact and the program's
                file name (`<name>.pt2`).
            fn: A callable using tracked layers: a layer or model, `layer.call`, or a
                function.
            input_signature: A list with one `kiln.InputSpec` (or nested list/dict of
                them) per positional argument of `fn`. May be omitted when `fn` is a
                tracked layer/model (or its `call`) that has been called before.

        Returns:
            The endpoint's output specs.

        Example:
            >>> archive.add_endpoint("serve", model, [kiln.InputSpec(shape=(None, 16))])
        """
        self._check_name(name, "Endpoint")
        if name in self._endpoints or name in self._collections:
            raise ExportError(f"Endpoint name '{name}' is already taken. Choose another name.")
        if not callable(fn):
            raise ExportError(f"add_endpoint() needs a callable `fn`. Received: {fn!r}")
        owner = _owner(fn)
        if owner is not None and not self._covers(owner):
            raise ExportError(
                f"Endpoint '{name}' calls layer '{owner.name}', which this archive does not "
                f"track. Call `export_archive.track({owner.name})` (the layer or the model "
                "that contains it) before adding the endpoint."
            )
        if input_signature is None:
            if owner is None:
                raise ExportError(
                    f"Endpoint '{name}': `input_signature` is required for a plain function. "
                    "Pass e.g. `input_signature=[kiln.InputSpec(shape=(None, 16), "
                    "dtype='float32')]`, one spec per argument of the function."
                )
            signature = signatures.default_signature(owner)
        else:
            signature = signatures.normalize(input_signature)
        if owner is not None and _is_model_call(fn, owner):
            signature = signatures.fit_to_model(owner, signature)
        if owner is not None and getattr(fn, "__name__", "") in ("__call__", "forward"):
            fn = owner  # the layer itself: Layer.__call__ converts inputs and sets the context
        arg_names = signatures.arg_names(fn, len(signature))
        program, inputs, outputs = tracing.trace(fn, self._tracked, signature, name)
        self._endpoints[name] = _Endpoint(name, fn, arg_names, inputs, outputs, program)
        return outputs

    def track_and_add_endpoint(self, name, resource, input_signature=None):
        """`track(resource)` then `add_endpoint(name, resource, input_signature)`."""
        self.track(resource)
        return self.add_endpoint(name, resource, input_signature)

    def add_variable_collection(self, name, variables):
        """Stores `variables` in the artifact; the loaded artifact has them as attribute `name`.

        The collection is also an attribute of the archive itself.

        Example:
            >>> archive.add_variable_collection("my_vars", layer.weights)
            >>> len(archive.my_vars)
            8
        """
        from kiln.core.variable import Variable

        self._check_name(name, "Variable collection")
        if name in self._collections or name in self._endpoints or hasattr(self, name):
            raise ExportError(f"The name '{name}' is already used in this archive. Choose "
                              "another collection name.")
        if not isinstance(variables, (list, tuple, set)):
            raise ExportError(
                f"add_variable_collection() expects a list, tuple or set of variables. "
                f"Received: {type(variables).__name__}."
            )
        bad = [type(v).__name__ for v in variables
               if not isinstance(v, (Variable, torch.Tensor))]
        if bad:
            raise ExportError(
                f"Variable collection '{name}' may only hold kiln Variables or tensors; it "
                f"received {sorted(set(bad))}."
            )
        self._collections[name] = list(variables)
        setattr(self, name, list(variables))

    # -- output ---------------------------------------------------------------------------
    def write_out(self, filepath, verbose=True):
        """Writes the artifact directory at `filepath` (atomically) and prints its endpoints.

        Example:
            >>> archive.write_out("exported_model")
        """
        from kiln.saving.atomic import atomic_directory

        if not self._endpoints:
            raise ExportError("No endpoints have been set yet. Call add_endpoint() (or "
                              "track_and_add_endpoint()) before write_out().")
        path = os.fspath(filepath)
        if os.path.isfile(path):
            raise ExportError(
                f"{path!r} is a file; an exported artifact is a directory. Choose another "
                "path, or use format='onnx' for a single-file artifact."
            )
        if os.path.isdir(path) and os.listdir(path) and \
                not os.path.isfile(os.path.join(path, torch_export.MANIFEST)):
            raise ExportError(
                f"{path!r} is a non-empty directory that does not hold an export artifact; "
                "writing the artifact would delete its contents. Choose a new or empty path.")
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        with atomic_directory(path) as tmp:
            self.write_into(tmp)
        if verbose:
            print(torch_export.summary(path, self._endpoints, self._collections))

    def endpoint_program(self, name):
        """The traced `torch.export.ExportedProgram` of endpoint `name`."""
        return self._endpoints[name].program

    def write_into(self, directory):
        """Writes the artifact files into an existing directory (no atomic swap)."""
        variables = [v for r in self._tracked for v in _weights(r)]
        return torch_export.write_artifact(directory, self._endpoints, variables,
                                           self._collections)

    def _check_name(self, name, what):
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
                or name.startswith("_") or name in _RESERVED:
            raise ExportError(
                f"{what} name {name!r} is not allowed: it must be a Python identifier not "
                f"starting with '_' (it becomes an attribute of the loaded artifact) and not "
                f"one of {sorted(_RESERVED)}."
            )

    def _covers(self, layer):
        return any(layer is r or any(m is layer for m in r.modules()) for r in self._tracked)


def _weights(resource):
    from kiln.layers.layer import Layer

    if isinstance(resource, Layer):
        return list(resource.weights)
    return []


def _owner(fn):
    """The kiln layer `fn` is, or is a bound method of; else None."""
    from kiln.layers.layer import Layer

    if isinstance(fn, Layer):
        return fn
    owner = getattr(fn, "__self__", None)
    return owner if isinstance(owner, Layer) else None


def _is_model_call(fn, owner):
    if owner is None:
        return False
    return fn is owner or getattr(fn, "__name__", "") in ("__call__", "call", "forward")
