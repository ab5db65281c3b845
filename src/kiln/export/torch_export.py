"""Writing the `format="torch"` artifact: a directory of `torch.export` programs.

Layout (docs/formats/torch-artifact.md):

    <artifact>/
      manifest.json           endpoints, signatures, variable collections, versions, checksums
      <endpoint>.pt2          one `torch.export.save` program per endpoint (self-contained)
      variables.safetensors   every tracked variable, keyed by its path

`manifest.json` is written last. The whole directory is built beside the target and
renamed into place, so a failed export never leaves a partial artifact.
"""

import json
import os
import zlib

import torch

from kiln.export import signatures

FORMAT = "kiln.torch-artifact"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VARIABLES = "variables.safetensors"
_CHUNK = 16 * 1024 * 1024


def file_checksum(path):
    """`crc32:xxxxxxxx` of a file, read in chunks."""
    crc = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
    return f"crc32:{crc & 0xFFFFFFFF:08x}"


def _variable_keys(variables):
    """`{id(variable): unique key}`, keys being variable paths (deduplicated)."""
    keys, used = {}, set()
    for variable in variables:
        if id(variable) in keys:
            continue
        base = str(getattr(variable, "path", None) or getattr(variable, "name", None) or "variable")
        key, n = base, 1
        while key in used:
            key, n = f"{base}_{n}", n + 1
        used.add(key)
        keys[id(variable)] = key
    return keys


def _tensor_of(value):
    from kiln.core.variable import Variable

    if isinstance(value, Variable):
        return value.value
    return value


def write_artifact(directory, endpoints, variables, collections):
    """Writes the artifact files into the existing (empty) `directory`.

    Args:
        endpoints: `{name: record}` where a record has `program`, `arg_names`, `inputs`,
            `outputs`.
        variables: every variable the artifact stores (tracked layers' weights first).
        collections: `{name: [variables or tensors]}`.

    Returns:
        The manifest dict.
    """
    from kiln import __version__
    from kiln.saving.safetensors_store import save_safetensors

    everything = list(variables) + [v for vs in collections.values() for v in vs]
    keys = _variable_keys(everything)
    tensors = {}
    for value in everything:
        key = keys[id(value)]
        if key not in tensors:
            tensors[key] = _tensor_of(value).detach().cpu().contiguous()
    by_tensor = {id(_tensor_of(v)): keys[id(v)] for v in everything}
    manifest_endpoints = {}
    checksums = {}
    for name, record in endpoints.items():
        filename = f"{name}.pt2"
        path = os.path.join(directory, filename)
        torch.export.save(record.program, path)
        checksums[filename] = file_checksum(path)
        state = {k: by_tensor.get(id(t)) for k, t in record.program.state_dict.items()}
        manifest_endpoints[name] = {
            "file": filename,
            "arg_names": list(record.arg_names),
            "inputs": [signatures.to_json(arg) for arg in record.inputs],
            "outputs": _outputs_json(record.outputs),
            "state": state,
        }
    save_safetensors(os.path.join(directory, VARIABLES), tensors,
                     metadata={"format": FORMAT})
    checksums[VARIABLES] = file_checksum(os.path.join(directory, VARIABLES))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kiln_version": __version__,
        "torch_version": torch.__version__,
        "default_endpoint": "serve" if "serve" in endpoints else next(iter(endpoints)),
        "endpoints": manifest_endpoints,
        "variables": {"file": VARIABLES, "keys": list(tensors)},
        "variable_collections": {n: [keys[id(v)] for v in vs] for n, vs in collections.items()},
        "checksums": checksums,
    }
    with open(os.path.join(directory, MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def _outputs_json(outputs):
    if outputs is None:
        return None
    return signatures.to_json(signatures.map_structure(
        lambda s: s if s is not None else _unknown(), outputs))


def _unknown():
    from kiln.layers.input_spec import InputSpec

    return InputSpec(shape=(), dtype=None)


def summary(path, endpoints, collections=None):
    """The text `write_out(verbose=True)` prints (TF's endpoint summary layout)."""
    lines = [f"Saved artifact at '{path}'. The following endpoints are available:", ""]
    for name, record in endpoints.items():
        lines.append(f"* Endpoint '{name}'")
        lines.append("  Args:")
        for arg_name, arg in zip(record.arg_names, record.inputs):
            if signatures.is_leaf(arg):
                lines.append(f"    {arg_name}: {signatures.describe_spec(arg)}")
            else:
                lines.append(f"    {arg_name}:")
                lines.extend(signatures.describe(arg, 6))
        lines.append("  Returns:")
        if record.outputs is None:
            lines.append("    None")
        else:
            lines.extend(signatures.describe(record.outputs, 4))
        lines.append("")
    if collections:
        lines.append("Variable collections: " + ", ".join(
            f"'{n}' ({len(vs)} variables)" for n, vs in collections.items()))
        lines.append("")
    return "\n".join(lines).rstrip("\n")
