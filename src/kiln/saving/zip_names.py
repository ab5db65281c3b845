"""Which member names a `.keras` archive may contain, and how asset names map to paths.

A member name is data from an untrusted file: it is only ever used as a filesystem path
after `member_kind` has accepted it and `asset_parts` has split it into checked parts.
"""

import re

from kiln.errors import UnsafeFileError

__all__ = ["KNOWN_MEMBERS", "member_kind", "asset_parts"]

METADATA, CONFIG, WEIGHTS_H5, WEIGHTS_NPZ = (
    "metadata.json", "config.json", "model.weights.h5", "model.weights.npz")
KNOWN_MEMBERS = (METADATA, CONFIG, WEIGHTS_H5, WEIGHTS_NPZ)
ASSETS_PREFIX = "assets/"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)])


def _refuse(what, name, problem):
    raise UnsafeFileError(
        f"Refusing to read {what}: member {name!r} {problem}. A `.keras` archive written by "
        "Keras or kiln only holds metadata.json, config.json, model.weights.h5 and files "
        "under assets/; do not load archives from untrusted sources."
    )


def member_kind(name, what):
    """Classifies a raw member name: "known", "asset", or "asset_dir"; refuses anything else.

    Refused: backslashes, control characters, absolute paths (`/x`, `C:x`), `..` or `.`
    components, empty components, and names outside the known set.

    Example:
        >>> member_kind("assets/layers/vocab/vocab.txt", "m.keras")
        'asset'
    """
    if not isinstance(name, str) or not name:
        _refuse(what, name, "has an empty name")
    if "\\" in name:
        _refuse(what, name, "contains a backslash (a Windows path separator)")
    if _CONTROL.search(name):
        _refuse(what, name, "contains control characters")
    if name.startswith("/") or _DRIVE.match(name):
        _refuse(what, name, "is an absolute path")
    parts = name.split("/")
    if ".." in parts:
        _refuse(what, name, "contains '..' (it would escape the extraction directory)")
    if name in KNOWN_MEMBERS:
        return "known"
    if not name.startswith(ASSETS_PREFIX):
        _refuse(what, name, "is not an expected member")
    is_dir = name.endswith("/")
    inner = parts[1:-1] if is_dir else parts[1:]
    if not is_dir and not inner:
        _refuse(what, name, "is not an expected member")
    for part in inner:
        if part in ("", "."):
            _refuse(what, name, "has an empty or '.' path component")
        if ":" in part or len(part.encode("utf-8")) > 255:
            _refuse(what, name, "has a path component that is not a portable file name")
        if part.split(".")[0].upper() in _WINDOWS_RESERVED:
            _refuse(what, name, "uses a reserved Windows device name")
    return "asset_dir" if is_dir else "asset"


def asset_parts(name):
    """`"assets/layers/vocab/v.txt"` -> `["layers", "vocab", "v.txt"]` (name already checked)."""
    return [p for p in name[len(ASSETS_PREFIX):].split("/") if p]
