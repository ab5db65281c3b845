"""`kiln.export.load(path)`: reads a `format="torch"` artifact (or a model directory's).

Before anything is deserialized, the manifest is parsed as untrusted JSON, every file it
names is checked to be a plain file name inside the artifact, and every checksum is
verified. Programs are then read with `torch.export.load`.
"""

import os

import torch

from kiln.errors import FileFormatError
from kiln.export import signatures, torch_export
from kiln.export.artifact import ExportedArtifact
from kiln.export.endpoint import Endpoint

EXPORTED_SUBDIR = "exported"  # where a model directory keeps its inference artifact
_MANIFEST_MAX_BYTES = 16 * 1024 * 1024


def load(filepath):
    """Loads an artifact written by `model.export()` / `ExportArchive.write_out()`.

    Also accepts a model directory written by `model.save("my_model")` (its exported
    inference program is used). No kiln model code is needed: only the programs.

    Returns:
        An `ExportedArtifact`: `artifact.serve(x)`, `artifact(x)`, and one attribute per
        variable collection (a list of tensors).

    Example:
        >>> artifact = kiln.export.load("exported_model")
        >>> y = artifact.serve(np.random.random((8, 16)))
    """
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No export artifact at {path!r}. Check the path.")
    if os.path.isfile(path):
        hint = ""
        if path.endswith(".onnx"):
            hint = (" It is an ONNX file: run it with onnxruntime "
                    "(`onnxruntime.InferenceSession(path)`).")
        elif path.endswith(".pt2"):
            hint = (" It is a single torch.export program: run it with "
                    "`torch.export.load(path).module()`.")
        raise FileFormatError(
            f"{path!r} is a file, but kiln export artifacts are directories written by "
            f"`model.export(path)` or `ExportArchive.write_out(path)`.{hint}")
    root = path
    if not os.path.isfile(os.path.join(root, torch_export.MANIFEST)):
        nested = os.path.join(path, EXPORTED_SUBDIR)
        if os.path.isfile(os.path.join(nested, torch_export.MANIFEST)):
            root = nested
        else:
            raise FileFormatError(
                f"{path!r} has no {torch_export.MANIFEST}; it is not a kiln export artifact "
                "(nor a model directory with an exported program). Re-export the model "
                "with `model.export(path)`.")
    manifest = read_manifest(root)
    endpoints = {}
    for name, entry in manifest["endpoints"].items():
        program = torch.export.load(os.path.join(root, entry["file"]))
        inputs = [signatures.from_json(a, f"endpoint {name!r}") for a in entry["inputs"]]
        outputs = signatures.from_json(entry["outputs"], f"endpoint {name!r}") \
            if entry.get("outputs") is not None else None
        endpoints[name] = Endpoint(name, program.module(), entry["arg_names"], inputs, outputs)
    return ExportedArtifact(path, manifest, endpoints, _collections(root, manifest))


def read_manifest(root):
    """Parses and validates `manifest.json`, and verifies every file's checksum."""
    from kiln.saving.json_utils import load_untrusted_json

    what = os.path.join(root, torch_export.MANIFEST)
    with open(what, "rb") as f:
        manifest = load_untrusted_json(f.read(_MANIFEST_MAX_BYTES + 1), what,
                                       max_bytes=_MANIFEST_MAX_BYTES)
    if not isinstance(manifest, dict) or manifest.get("format") != torch_export.FORMAT:
        raise FileFormatError(f"{what} is not a kiln torch-artifact manifest.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > torch_export.FORMAT_VERSION:
        raise FileFormatError(
            f"{what} has format_version {version!r}; this kiln reads up to "
            f"{torch_export.FORMAT_VERSION}. Upgrade kiln.")
    checksums = manifest.get("checksums")
    endpoints = manifest.get("endpoints")
    if not isinstance(checksums, dict) or not isinstance(endpoints, dict) or not endpoints:
        raise FileFormatError(f"{what} needs 'endpoints' and 'checksums' objects.")
    for name, entry in endpoints.items():
        if not isinstance(entry, dict) or entry.get("file") not in checksums or \
                not isinstance(entry.get("arg_names"), list) or \
                not isinstance(entry.get("inputs"), list) or \
                len(entry["arg_names"]) != len(entry["inputs"]) or not _attribute_name(name):
            raise FileFormatError(f"{what}: malformed entry for endpoint {name!r}.")
    for filename, expected in checksums.items():
        _check_file_name(filename, what)
        target = os.path.join(root, filename)
        if not os.path.isfile(target):
            raise FileFormatError(f"{what} lists {filename!r}, which the artifact lacks. "
                                  "The artifact is incomplete; re-export it.")
        if torch_export.file_checksum(target) != expected:
            raise FileFormatError(
                f"Checksum mismatch for {filename!r} in artifact {root!r}: the file was "
                "modified or damaged after export. Re-export or re-download the artifact.")
    return manifest


def _attribute_name(name):
    """Endpoint/collection names become attributes: plain identifiers that shadow nothing."""
    return isinstance(name, str) and name.isidentifier() and not name.startswith("_") and \
        not hasattr(ExportedArtifact, name) and name not in ("path", "manifest", "endpoints",
                                                             "variable_collections",
                                                             "default_endpoint")


def _check_file_name(name, what):
    if not isinstance(name, str) or not name or name != os.path.basename(name) or \
            name in (".", "..") or "/" in name or "\\" in name:
        raise FileFormatError(f"{what} names file {name!r}, which is not a plain file name "
                              "inside the artifact. Refusing to read it.")


def _collections(root, manifest):
    collections = manifest.get("variable_collections") or {}
    if not collections:
        return {}
    from kiln.saving.safetensors_store import load_safetensors

    variables = manifest.get("variables") or {}
    filename = variables.get("file", torch_export.VARIABLES)
    if filename not in manifest["checksums"]:
        raise FileFormatError(f"The manifest of {root!r} does not checksum {filename!r}.")
    tensors = load_safetensors(os.path.join(root, filename))
    out = {}
    for name, keys in collections.items():
        missing = [k for k in keys if k not in tensors]
        if missing or not _attribute_name(name):
            raise FileFormatError(f"Variable collection {name!r} of {root!r} refers to "
                                  f"variables missing from {filename}: {missing[:5]}.")
        out[name] = [tensors[k] for k in keys]
    return out
