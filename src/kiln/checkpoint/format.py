"""The bytes of an object-graph checkpoint: `<prefix>.data-00000-of-00001` and `<prefix>.index`.

The data file is a plain safetensors file (8-byte little-endian header length, a JSON
header, then the tensor bytes back to back), so any safetensors tool can open it. Its
`__metadata__` carries `format`, `format_version` and a random `save_id`. The index is a
small JSON file repeating every entry with its absolute byte offset in the data file and
the same `save_id`; a reader uses it to check the data file and to list variables cheaply.
The spec is docs/formats/checkpoint.md.

Writing goes straight from each tensor's memory to the file (no intermediate copy), data
file first, index second, both through `kiln.saving.atomic.atomic_write`.
"""

import json
import os
import secrets
import struct
import threading

import numpy as np
import torch

from kiln.errors import FileFormatError
from kiln.saving.atomic import atomic_write
from kiln.saving.json_utils import CONFIG_MAX_BYTES, load_untrusted_json

FORMAT = "kiln.checkpoint"
FORMAT_VERSION = 1
DATA_SUFFIX = ".data-00000-of-00001"
INDEX_SUFFIX = ".index"
GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
HEADER_MAX_BYTES = 100 * 1024 * 1024

# kiln dtype name <-> safetensors dtype code.
_CODES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8",
    "uint64": "U64", "uint32": "U32", "uint16": "U16", "uint8": "U8", "bool": "BOOL",
    "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "complex64": "C64",
}
_NAMES = {code: name for name, code in _CODES.items()}
# dtype name <-> torch dtype, for every name above that this torch build knows.
TORCH_DTYPES = {name: getattr(torch, name) for name in _CODES if hasattr(torch, name)}
_TORCH_NAMES = {dt: name for name, dt in TORCH_DTYPES.items()}


def dtype_name(torch_dtype):
    """The checkpoint's name for a torch dtype ("float32", "bfloat16", ...)."""
    name = _TORCH_NAMES.get(torch_dtype)
    if name is None:
        raise TypeError(f"Cannot store tensors of dtype {torch_dtype} in a checkpoint. "
                        f"Supported dtypes: {sorted(TORCH_DTYPES)}.")
    return name


def data_path(prefix):
    return f"{prefix}{DATA_SUFFIX}"


def index_path(prefix):
    return f"{prefix}{INDEX_SUFFIX}"


def itemsize(dtype):
    return torch.empty((), dtype=TORCH_DTYPES[dtype]).element_size()


class Entry:
    """One stored tensor: dtype name, shape, absolute offset and size in the data file."""

    __slots__ = ("key", "dtype", "shape", "offset", "size")

    def __init__(self, key, dtype, shape, offset, size):
        self.key, self.dtype, self.shape = key, dtype, tuple(shape)
        self.offset, self.size = offset, size

    def as_json(self):
        return {"dtype": self.dtype, "shape": list(self.shape), "offset": self.offset,
                "size": self.size}

    def __repr__(self):
        return f"Entry({self.key!r}, {self.dtype}, {self.shape}, offset={self.offset})"


# -- writing -------------------------------------------------------------------------------
def as_bytes_view(tensor):
    """A flat uint8 numpy view of a CPU tensor's memory (a contiguous copy if needed)."""
    t = tensor.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if not t.is_contiguous():
        t = t.contiguous()
    return t.reshape(-1).view(torch.uint8).numpy()


def _layout(tensors):
    """Write order (widest items first keeps every tensor aligned) and header bytes."""
    items = []
    for key, tensor in tensors.items():
        dtype = dtype_name(tensor.dtype)
        items.append((key, dtype, tuple(tensor.shape), tensor.numel() * tensor.element_size(),
                      tensor.element_size()))
    items.sort(key=lambda item: (-item[4], item[0]))
    return items


def encode_header(items, metadata):
    """`(header bytes, entries)` for `items` = [(key, dtype, shape, nbytes, itemsize)]."""
    header, offset = {}, 0
    for key, dtype, shape, nbytes, _ in items:
        header[key] = {"dtype": _CODES[dtype], "shape": list(shape),
                       "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((-(8 + len(raw))) % 8)  # tensor bytes start 8-byte aligned
    start = 8 + len(raw)
    entries, offset = {}, start
    for key, dtype, shape, nbytes, _ in items:
        entries[key] = Entry(key, dtype, shape, offset, nbytes)
        offset += nbytes
    return struct.pack("<Q", len(raw)) + raw, entries, offset


def _hold(path):
    """An open descriptor of the file at `path` (POSIX only), or None.

    Replacing a file frees the old one's pages and blocks inside `rename` when that drops
    its last reference, which costs about a second per GiB of cached data. Holding the old
    file open moves that work to the `close`, done on a background thread; the file has no
    name by then, so nothing stays visible in the folder.
    """
    if os.name != "posix":
        return None
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


def _close_in_background(fds):
    fds = [fd for fd in fds if fd is not None]
    if fds:
        threading.Thread(target=_close_all, args=(fds,), name="kiln-checkpoint-release",
                         daemon=True).start()


def _close_all(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def write(prefix, tensors):
    """Writes `{key: tensor}` as the checkpoint `prefix`; returns the entries written.

    The data file appears first (atomically), then the index (atomically). A crash
    between the two leaves a complete new data file next to the old index; readers notice
    the different `save_id` and use the data file's own header.
    """
    prefix = os.fspath(prefix)
    items = _layout(tensors)
    save_id = secrets.token_hex(8)
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "save_id": save_id}
    header, entries, total = encode_header(items, metadata)
    index = {"format": FORMAT + ".index", "format_version": FORMAT_VERSION, "save_id": save_id,
             "data_file_size": total, "entries": {k: e.as_json() for k, e in entries.items()}}
    old = [_hold(data_path(prefix))]
    try:
        with atomic_write(data_path(prefix)) as f:
            f.write(header)
            for key, *_ in items:
                view = as_bytes_view(tensors[key])
                if view.size:
                    f.write(memoryview(view))
        with atomic_write(index_path(prefix)) as f:
            f.write(json.dumps(index, separators=(",", ":")).encode("utf-8"))
    finally:
        _close_in_background(old)
    return entries


# -- reading -------------------------------------------------------------------------------
def _check_shape(shape, what):
    if not isinstance(shape, list) or len(shape) > 64 or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**48 for d in shape):
        raise FileFormatError(f"{what}: invalid shape {shape!r}; expected a list of "
                              "non-negative integers.")
    return tuple(shape)


def read_header(path, file_size):
    """Parses and bounds-checks a data file's safetensors header -> (entries, metadata)."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise FileFormatError(f"Checkpoint data file {path} is truncated ({file_size} "
                                  "bytes); it cannot hold a header. The save was interrupted "
                                  "or the file is damaged.")
        (n,) = struct.unpack("<Q", head)
        if n > HEADER_MAX_BYTES or 8 + n > file_size:
            raise FileFormatError(f"Checkpoint data file {path} declares a {n}-byte header, "
                                  f"but the file has {file_size} bytes. The file is damaged.")
        raw = f.read(n)
    header = load_untrusted_json(raw, f"header of {path}")
    if not isinstance(header, dict):
        raise FileFormatError(f"Header of {path} is not a JSON object.")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise FileFormatError(f"Header of {path}: `__metadata__` must be an object.")
    start = 8 + n
    entries, spans = {}, []
    for key, info in header.items():
        what = f"tensor {key!r} in {path}"
        if not isinstance(info, dict) or _NAMES.get(info.get("dtype")) not in TORCH_DTYPES:
            raise FileFormatError(f"{what}: unknown or missing dtype "
                                  f"{info.get('dtype') if isinstance(info, dict) else info!r}.")
        shape = _check_shape(info.get("shape"), what)
        offsets = info.get("data_offsets")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
                isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            raise FileFormatError(f"{what}: `data_offsets` must be two integers.")
        begin, end = offsets
        dtype = _NAMES[info["dtype"]]
        expected = int(np.prod(shape, dtype=np.int64)) * itemsize(dtype)
        if not 0 <= begin <= end or end - begin != expected or start + end > file_size:
            raise FileFormatError(
                f"{what} spans bytes [{begin}, {end}) of the data, which does not fit its "
                f"shape {shape} {dtype} ({expected} bytes) or the file ({file_size} bytes). "
                "The file is damaged or was crafted.")
        entries[key] = Entry(key, dtype, shape, start + begin, expected)
        spans.append((begin, end, key))
    spans.sort()
    for (b1, e1, k1), (b2, _, k2) in zip(spans, spans[1:]):
        if b2 < e1:
            raise FileFormatError(f"Tensors {k1!r} and {k2!r} overlap in {path}; the file is "
                                  "damaged or was crafted.")
    return entries, metadata


def read_index(path):
    """The parsed index JSON of a checkpoint (validated structure, not yet cross-checked)."""
    size = os.path.getsize(path)
    if size > CONFIG_MAX_BYTES:
        raise FileFormatError(f"Checkpoint index {path} is {size} bytes, more than the "
                              f"{CONFIG_MAX_BYTES}-byte limit. It is not a kiln index.")
    with open(path, "rb") as f:
        index = load_untrusted_json(f.read(), f"checkpoint index {path}")
    if not isinstance(index, dict) or index.get("format") != FORMAT + ".index":
        raise FileFormatError(f"{path} is not a kiln checkpoint index (expected "
                              f"format={FORMAT + '.index'!r}).")
    version = index.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FileFormatError(f"{path} has format_version={version!r}; this kiln reads "
                              f"versions up to {FORMAT_VERSION}. Upgrade kiln.")
    if not isinstance(index.get("entries"), dict):
        raise FileFormatError(f"{path}: `entries` must be an object.")
    return index


def check_index(index, entries, ipath, dpath, file_size):
    """Raises unless every index entry lies inside the data file and matches its header."""
    problems = []
    for key, info in index["entries"].items():
        if not isinstance(info, dict):
            problems.append(f"  {key}: not an object")
            continue
        offset, size = info.get("offset"), info.get("size")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                   for v in (offset, size)) or offset + size > file_size:
            problems.append(f"  {key}: points at bytes [{offset}, {offset}+{size}) outside "
                            f"the data file ({file_size} bytes)")
            continue
        entry = entries.get(key)
        if entry is None:
            problems.append(f"  {key}: listed in the index, absent from the data file")
        elif (offset, size, info.get("dtype"), tuple(info.get("shape") or ())) != (
                entry.offset, entry.size, entry.dtype, entry.shape):
            problems.append(f"  {key}: index says {info.get('dtype')} {info.get('shape')} at "
                            f"{offset}, data file says {entry.dtype} {list(entry.shape)} at "
                            f"{entry.offset}")
    for key in entries:
        if key not in index["entries"]:
            problems.append(f"  {key}: in the data file, missing from the index")
    if problems:
        raise FileFormatError(
            f"Checkpoint index {ipath} does not match its data file {dpath} "
            f"({len(problems)} problems):\n" + "\n".join(problems[:20])
            + "\nThe checkpoint is damaged; restore it from another copy.")


def read_into(f, entry, out):
    """Reads `entry`'s bytes from open raw file `f` straight into CPU tensor `out`."""
    if not out.is_contiguous() or out.device.type != "cpu":
        raise ValueError("read_into needs a contiguous CPU tensor.")
    view = as_bytes_view(out)
    if view.size != entry.size:
        raise ValueError(f"read_into: {entry.key!r} has {entry.size} bytes, the target "
                         f"tensor {view.size}.")
    mv = memoryview(view)
    f.seek(entry.offset)
    done = 0
    while done < entry.size:
        n = f.readinto(mv[done:])
        if not n:
            raise FileFormatError(f"Unexpected end of file while reading {entry.key!r}; the "
                                  "checkpoint data file is truncated.")
        done += n


def read_tensor(f, entry):
    """A new CPU torch tensor holding `entry`'s value."""
    out = torch.empty(entry.shape, dtype=TORCH_DTYPES[entry.dtype])
    if entry.size:
        read_into(f, entry, out)
    return out
