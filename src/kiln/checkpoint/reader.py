"""`CheckpointReader`: the stored tensors of one checkpoint, validated before any is read."""

import os
import warnings

from kiln.checkpoint import async_writer, state_file
from kiln.checkpoint import format as fmt
from kiln.checkpoint.object_graph import GRAPH_FORMAT, GRAPH_VERSION, VARIABLE_SUFFIX
from kiln.errors import FileFormatError
from kiln.saving.json_utils import load_untrusted_json


def resolve_prefix(path):
    """The checkpoint prefix for `path`: the prefix itself, or a folder's latest checkpoint."""
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise TypeError(f"A checkpoint path must be a non-empty string. Received: {path!r}")
    if os.path.isdir(path):
        latest = state_file.latest_checkpoint(path)
        if latest is None:
            raise FileNotFoundError(
                f"{path!r} is a folder without a `checkpoint` state file, so it names no "
                "checkpoint. Pass a checkpoint prefix such as 'training_1/cp.ckpt'.")
        return latest
    return path


def _missing_message(prefix):
    message = (f"No checkpoint found at {prefix!r}: expected the files "
               f"{fmt.index_path(prefix)!r} and {fmt.data_path(prefix)!r}.")
    directory = os.path.dirname(prefix) or "."
    if os.path.isfile(os.path.join(directory, state_file.STATE_FILENAME)):
        message += (f" The folder {directory!r} has a state file: "
                    f"kiln.checkpoint.latest_checkpoint({directory!r}) names its newest "
                    "checkpoint.")
    return message


class CheckpointReader:
    """Read access to one checkpoint (what `kiln.checkpoint.load_checkpoint` returns).

    Opening checks the data file's header against the file size, and the index against
    the data file, before any tensor is read.

    Example:
        >>> reader = kiln.checkpoint.load_checkpoint("ckpt-1")
        >>> reader.get_variable_to_shape_map()["layer/var/.ATTRIBUTES/VARIABLE_VALUE"]
        []
    """

    def __init__(self, path):
        async_writer.wait_all()
        self.prefix = prefix = resolve_prefix(path)
        data, index = fmt.data_path(prefix), fmt.index_path(prefix)
        has_data, has_index = os.path.isfile(data), os.path.isfile(index)
        if not has_data and not has_index:
            raise FileNotFoundError(_missing_message(prefix))
        if not has_data:
            raise FileNotFoundError(
                f"Checkpoint {prefix!r} is incomplete: the index {index!r} exists but the "
                f"data file {data!r} does not. Restore the data file or use another checkpoint.")
        if not has_index:
            raise FileNotFoundError(
                f"Checkpoint {prefix!r} is incomplete: the data file exists but the index "
                f"{index!r} does not (the save was interrupted). Use another checkpoint.")
        self.data_path = data
        size = os.path.getsize(data)
        self._entries, metadata = fmt.read_header(data, size)
        if metadata.get("format") != fmt.FORMAT:
            raise FileFormatError(
                f"{data} is a safetensors file but not a kiln checkpoint (its metadata has no "
                f"format={fmt.FORMAT!r}). Load it with `model.load_weights('x.safetensors')`.")
        version = metadata.get("format_version")
        if not (isinstance(version, str) and version.isdigit()) or int(version) > fmt.FORMAT_VERSION:
            raise FileFormatError(f"{data} has checkpoint format_version={version!r}; this "
                                  f"kiln reads versions up to {fmt.FORMAT_VERSION}.")
        parsed = fmt.read_index(index)
        if parsed.get("save_id") == metadata.get("save_id"):
            fmt.check_index(parsed, self._entries, index, data, size)
        else:
            warnings.warn(
                f"The index {index} belongs to an earlier save than {data} (a save was "
                "interrupted between the two files); kiln uses the data file's own header.",
                stacklevel=3)
        self._graph = None

    # -- TensorFlow's reader API --------------------------------------------------------------
    def _key(self, key):
        if key in self._entries:
            return key
        if key + VARIABLE_SUFFIX in self._entries:
            return key + VARIABLE_SUFFIX
        raise KeyError(
            f"Checkpoint {self.prefix!r} has no tensor {key!r}. Stored keys include: "
            f"{sorted(self._entries)[:10]}. See `get_variable_to_shape_map()`.")

    def has_tensor(self, key):
        """True if `key` (with or without `/.ATTRIBUTES/VARIABLE_VALUE`) is stored."""
        return key in self._entries or key + VARIABLE_SUFFIX in self._entries

    def get_variable_to_dtype_map(self):
        """`{key: dtype name}`; the object graph entry has dtype `"string"`."""
        return {k: ("string" if k == fmt.GRAPH_KEY else e.dtype) for k, e in self._entries.items()}

    def get_variable_to_shape_map(self):
        """`{key: shape as a list}`; the object graph entry is a scalar (`[]`)."""
        return {k: ([] if k == fmt.GRAPH_KEY else list(e.shape)) for k, e in self._entries.items()}

    def get_tensor(self, key):
        """The stored value: a numpy array (a torch tensor for bfloat16/float8; bytes for
        the object graph)."""
        entry = self._entries[self._key(key)]
        with open(self.data_path, "rb", buffering=0) as f:
            tensor = fmt.read_tensor(f, entry)
        if entry.key == fmt.GRAPH_KEY:
            return tensor.numpy().tobytes()
        if entry.dtype in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
            return tensor
        return tensor.numpy()

    def entries(self):
        """`{key: format.Entry}` of every stored tensor."""
        return dict(self._entries)

    def open(self):
        """The data file, opened for `format.read_into` (use as a context manager)."""
        return open(self.data_path, "rb", buffering=0)

    def object_graph(self):
        """The stored object graph (see object_graph.Graph), structure-checked."""
        if self._graph is None:
            if fmt.GRAPH_KEY not in self._entries:
                raise FileFormatError(
                    f"Checkpoint {self.prefix!r} has no `{fmt.GRAPH_KEY}` entry, so its "
                    "objects cannot be matched. It was not written by kiln.checkpoint.")
            graph = load_untrusted_json(self.get_tensor(fmt.GRAPH_KEY),
                                        f"object graph of {self.prefix}")
            self._graph = _check_graph(graph, self._entries, self.prefix)
        return self._graph


def _check_graph(graph, entries, prefix):
    what = f"object graph of checkpoint {prefix!r}"
    if not isinstance(graph, dict) or graph.get("format") != GRAPH_FORMAT:
        raise FileFormatError(f"The {what} is not a kiln object graph.")
    if not isinstance(graph.get("version"), int) or graph["version"] > GRAPH_VERSION:
        raise FileFormatError(f"The {what} has version {graph.get('version')!r}; this kiln "
                              f"reads versions up to {GRAPH_VERSION}.")
    nodes = graph.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise FileFormatError(f"The {what} has no nodes.")
    n = len(nodes)

    def node_id(value):
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n

    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise FileFormatError(f"The {what}: node {i} is not an object.")
        if "key" in node:
            if not isinstance(node["key"], str) or node["key"] not in entries:
                raise FileFormatError(f"The {what}: node {i} names tensor {node.get('key')!r}, "
                                      "which the data file does not hold.")
            continue
        kids = node.get("children", [])
        if not isinstance(kids, list) or not all(
                isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and node_id(c[1])
                for c in kids):
            raise FileFormatError(f"The {what}: node {i} has malformed children.")
        slots = node.get("slots", [])
        if not isinstance(slots, list) or not all(
                isinstance(s, list) and len(s) == 3 and node_id(s[0]) and isinstance(s[1], str)
                and node_id(s[2]) for s in slots):
            raise FileFormatError(f"The {what}: node {i} has malformed slots.")
    return nodes


def load_checkpoint(ckpt_dir_or_file):
    """Opens a checkpoint for reading (`tf.train.load_checkpoint`).

    Args:
        ckpt_dir_or_file: A checkpoint prefix (as returned by `Checkpoint.save()`), or a
            folder, whose latest checkpoint is used.

    Returns:
        A `CheckpointReader` with `get_variable_to_dtype_map()`,
        `get_variable_to_shape_map()`, `get_tensor(key)` and `has_tensor(key)`.

    Example:
        >>> path = kiln.checkpoint.Checkpoint(layer=layer).save("custom_layer")
        >>> kiln.checkpoint.load_checkpoint(path).get_variable_to_dtype_map()
        {'layer/var/.ATTRIBUTES/VARIABLE_VALUE': 'int64', ...}
    """
    return CheckpointReader(ckpt_dir_or_file)


def list_variables(ckpt_dir_or_file):
    """`[(key, shape)]` of every tensor in a checkpoint, sorted by key.

    Example:
        >>> kiln.checkpoint.list_variables("training_1/cp.ckpt")[:1]
        [('_CHECKPOINTABLE_OBJECT_GRAPH', [])]
    """
    shapes = CheckpointReader(ckpt_dir_or_file).get_variable_to_shape_map()
    return sorted(shapes.items())

