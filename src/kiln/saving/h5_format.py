"""Encodes the HDF5 files kiln writes: the small subset of HDF5 a Keras weights file uses.

A weights file is a tree of groups holding contiguous numeric datasets, with scalar
variable-length string attributes (`name` on groups, `dtype="bfloat16"` on bfloat16
datasets). h5py's default output for such a tree uses the original ("version 0") HDF5
structures, and so does this encoder, byte for byte in every message kiln writes
(compared with libhdf5's own output in `h5_format_test`):

* superblock version 0 (8-byte addresses and lengths, group node K 16, leaf K 4);
* version 1 object headers; groups keep their links in a symbol table (a v1 B-tree of
  symbol-table nodes, names in a local heap), datasets carry dataspace (v1), datatype
  (v1), fill value (v2, h5py's defaults) and contiguous layout (v3) messages;
* attribute values live in global heap collections.

Writing the metadata directly is ~10x faster than creating thousands of objects through
libhdf5, and lets the tensor bytes go straight from memory to the file. The layout is:
superblock, then the datasets' bytes (each 64-byte aligned) in the order they were
added, then all metadata, which is encoded once the whole tree is known.
"""

import struct

import numpy as np

__all__ = ["FileTree", "datatype_message", "SUPERBLOCK_SIZE", "DATA_ALIGNMENT"]

UNDEF = 0xFFFFFFFFFFFFFFFF
SUPERBLOCK_SIZE = 96
DATA_ALIGNMENT = 64
_FREE_NULL = 1  # "no free block" in a local heap's free list
_LEAF_K, _NODE_K = 4, 16
_SNOD_ENTRIES = 2 * _LEAF_K
_BTREE_CHILDREN = 2 * _NODE_K
_BTREE_SIZE = 24 + _BTREE_CHILDREN * 8 + (_BTREE_CHILDREN + 1) * 8
_SNOD_SIZE = 8 + _SNOD_ENTRIES * 40
_OHDR_PREFIX = 16
_GCOL_MIN = 4096
_GCOL_MAX_OBJECTS = 60000

_FLOAT_LAYOUT = {  # size: (sign bit, exponent location, exponent size, mantissa size, bias)
    2: (15, 10, 5, 10, 15), 4: (31, 23, 8, 23, 127), 8: (63, 52, 11, 52, 1023)}
_INT8 = struct.pack("<BBBBIHH", 0x10, 0x08, 0, 0, 1, 0, 8)
_UINT8 = struct.pack("<BBBBIHH", 0x10, 0x00, 0, 0, 1, 0, 8)
_VLEN_UTF8 = struct.pack("<BBBBI", 0x19, 0x01, 0x01, 0x00, 16) + _UINT8
_SCALAR_SPACE = struct.pack("<BBBB4x", 1, 0, 0, 0)
_FILL_DEFAULT = struct.pack("<BBBBI", 2, 2, 2, 1, 0)  # late allocation, fill if set, default
_QQ = struct.Struct("<QQ")
_HEAP_HEAD = struct.Struct("<4sB3xQQQ")
_SNOD_HEAD = struct.Struct("<4sBBH")
_ENTRY = struct.Struct("<QQI4xQQ")  # a symbol table entry
_TREE_HEAD = struct.Struct("<4sBBHQQ")


def _pad8(n):
    return (n + 7) & ~7


def _padded(data):
    return data + bytes(_pad8(len(data)) - len(data))


def datatype_message(dtype):
    """The HDF5 datatype message (version 1) h5py writes for a numpy dtype.

    Supported: float16/32/64, (u)int8..64, bool (h5py's FALSE/TRUE enum) and the 2-byte
    opaque type that stands for bfloat16 (`V2`).

    Example:
        >>> datatype_message(np.dtype("<f4")).hex()
        '11201f000400000000002000170800177f000000'
    """
    dtype = np.dtype(dtype)
    big = 1 if dtype.byteorder == ">" or (dtype.byteorder == "=" and not np.little_endian) else 0
    size = dtype.itemsize
    if dtype.kind == "f" and size in _FLOAT_LAYOUT:
        sign, exp_at, exp_size, mantissa, bias = _FLOAT_LAYOUT[size]
        return struct.pack("<BBBBIHHBBBBI", 0x11, 0x20 | big, sign, 0, size, 0, 8 * size,
                           exp_at, exp_size, 0, mantissa, bias)
    if dtype.kind in "iu" and size in (1, 2, 4, 8):
        signed = 0x08 if dtype.kind == "i" else 0
        return struct.pack("<BBBBIHH", 0x10, big | signed, 0, 0, size, 0, 8 * size)
    if dtype.kind == "b":
        return (struct.pack("<BBBBI", 0x18, 2, 0, 0, 1) + _INT8
                + b"FALSE\0\0\0" + b"TRUE\0\0\0\0" + b"\x00\x01")
    if dtype.kind == "V" and size == 2 and dtype.fields is None:
        return struct.pack("<BBBBI", 0x15, 0, 0, 0, 2)
    raise TypeError(f"No HDF5 encoding for dtype {dtype} in a weights file.")


def _dataspace(shape):
    if not shape:
        return _SCALAR_SPACE
    dims = struct.pack(f"<{len(shape)}Q", *shape)
    return struct.pack("<BBBB4x", 1, len(shape), 1, 0) + dims + dims


def _message(kind, data, flags=0):
    data = _padded(data)
    return struct.pack("<HHB3x", kind, len(data), flags) + data


def _place(out, at, data):
    out[at:at + len(data)] = data


def _object_header(messages):
    body = b"".join(messages)
    return struct.pack("<BBHII4x", 1, 0, len(messages), 1, len(body)) + body


_ATTRIBUTE_HEADS = {}


def _attribute_message(name, ref):
    """The object header message of a scalar variable-length UTF-8 string attribute
    whose bytes sit in a global heap (`ref` = collection address, index, length)."""
    head = _ATTRIBUTE_HEADS.get(name)
    if head is None:
        encoded = name.encode("utf-8") + b"\0"
        body = (struct.pack("<BBHHH", 1, 0, len(encoded), len(_VLEN_UTF8), len(_SCALAR_SPACE))
                + _padded(encoded) + _padded(_VLEN_UTF8) + _padded(_SCALAR_SPACE))
        head = struct.pack("<HHB3x", 0x0C, len(body) + 16, 0) + body
        if len(_ATTRIBUTE_HEADS) < 64:
            _ATTRIBUTE_HEADS[name] = head
    collection, index, length = ref
    return head + struct.pack("<IQI", length, collection, index)


class _Group:
    __slots__ = ("children", "attrs", "ohdr", "heap", "nodes", "snods", "names")

    def __init__(self):
        self.children = {}
        self.attrs = {}


class _Dataset:
    __slots__ = ("shape", "dtype", "offset", "nbytes", "attrs", "ohdr")

    def __init__(self, shape, dtype, offset, nbytes, attrs):
        self.shape, self.dtype, self.offset, self.nbytes = shape, dtype, offset, nbytes
        self.attrs, self.ohdr = attrs, 0


class FileTree:
    """The groups and datasets of one HDF5 file, encoded by `encode` once complete.

    Example:
        >>> tree = FileTree()
        >>> vars_group = tree.group(["layers", "dense", "vars"])
        >>> tree.set_attr(vars_group, "name", "dense")
        >>> tree.add_dataset(vars_group, "0", (4, 3), np.dtype("<f4"), 128, 48)
        >>> superblock, metadata = tree.encode(metadata_start)
    """

    def __init__(self):
        self.root = _Group()

    def group(self, names):
        """Returns the group at `names` (a list of str), creating missing groups."""
        node = self.root
        for name in names:
            key = name.encode("utf-8")
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = _Group()
            elif not isinstance(child, _Group):
                raise ValueError(f"'{name}' is a dataset; cannot create a group there.")
            node = child
        return node

    def set_attr(self, node, name, value):
        """Sets a string attribute on a group or dataset."""
        node.attrs[name] = str(value)

    def add_dataset(self, group, name, shape, dtype, offset, nbytes, attrs=None):
        """Adds a contiguous dataset whose `nbytes` bytes start at `offset` (UNDEF if 0)."""
        key = name.encode("utf-8")
        if key in group.children:
            raise ValueError(f"'{name}' already exists in this group.")
        dataset = _Dataset(tuple(shape), np.dtype(dtype), offset if nbytes else UNDEF,
                           nbytes, dict(attrs or {}))
        group.children[key] = dataset
        return dataset

    # -- encoding ----------------------------------------------------------------------

    def _walk(self):
        """Groups and datasets in a fixed depth-first order (the layout order)."""
        stack, out = [self.root], []
        while stack:
            node = stack.pop()
            out.append(node)
            if isinstance(node, _Group):
                stack.extend(node.children[k] for k in sorted(node.children, reverse=True))
        return out

    def _global_heaps(self, nodes, start):
        """Lays out every attribute value in global heap collections from `start`.

        Returns `(collections bytes, {(id(node), attr name): (address, index, length)},
        end)`.
        """
        refs, chunks, address = {}, [], start
        values = [(node, name, value.encode("utf-8"))
                  for node in nodes for name, value in sorted(node.attrs.items())]
        for lo in range(0, len(values), _GCOL_MAX_OBJECTS):
            batch = values[lo:lo + _GCOL_MAX_OBJECTS]
            objects = []
            for index, (node, name, data) in enumerate(batch, start=1):
                refs[(id(node), name)] = (address, index, len(data))
                objects.append(struct.pack("<HH4xQ", index, 0, len(data)) + _padded(data))
            used = 16 + sum(len(o) for o in objects)
            size = max(_GCOL_MIN, used + 16)
            chunk = (struct.pack("<4sB3xQ", b"GCOL", 1, size) + b"".join(objects)
                     + struct.pack("<HH4xQ", 0, 0, size - used))
            chunks.append(chunk + bytes(size - len(chunk)))
            address += size
        return b"".join(chunks), refs, address

    def _plan_group(self, group, address):
        """Assigns addresses to a group's header, heap, B-tree nodes and symbol nodes."""
        names = sorted(group.children)
        heap_data = bytearray(8)  # offset 0: the empty name
        offsets = {}
        for name in names:
            offsets[name] = len(heap_data)
            heap_data += _padded(name + b"\0")
        group.names = (names, offsets, bytes(heap_data))
        ohdr_size = _OHDR_PREFIX + 8 + 16 + sum(
            len(_attribute_message(a, (0, 0, 0))) for a in group.attrs)
        group.ohdr = address
        address += _pad8(ohdr_size)
        group.heap = address
        address += 32 + len(heap_data)
        snod_count = -(-len(names) // _SNOD_ENTRIES)
        group.snods = [address + i * _SNOD_SIZE for i in range(snod_count)]
        address += snod_count * _SNOD_SIZE
        levels, width = [], max(snod_count, 1)
        while True:  # B-tree levels, bottom (level 0, pointing at symbol nodes) up
            count = -(-width // _BTREE_CHILDREN) if width else 1
            levels.append([address + i * _BTREE_SIZE for i in range(count)])
            address += count * _BTREE_SIZE
            if count == 1:
                break
            width = count
        group.nodes = levels
        return address

    def _encode_group(self, group, out, base, refs):
        names, offsets, heap_data = group.names
        children = group.children
        messages = [_message(0x11, _QQ.pack(group.nodes[-1][0], group.heap))]
        messages += [_attribute_message(a, refs[(id(group), a)]) for a in sorted(group.attrs)]
        _place(out, group.ohdr - base, _object_header(messages))
        _place(out, group.heap - base,
               _HEAP_HEAD.pack(b"HEAP", 0, len(heap_data), _FREE_NULL, group.heap + 32) + heap_data)
        # Symbol nodes: up to 8 sorted entries each.
        bounds = []  # per symbol node: heap offset of its largest name
        for i, address in enumerate(group.snods):
            chunk = names[i * _SNOD_ENTRIES:(i + 1) * _SNOD_ENTRIES]
            parts = [_SNOD_HEAD.pack(b"SNOD", 1, 0, len(chunk))]
            for name in chunk:
                child = children[name]
                if child.__class__ is _Group:
                    parts.append(_ENTRY.pack(offsets[name], child.ohdr, 1, child.nodes[-1][0],
                                             child.heap))
                else:
                    parts.append(_ENTRY.pack(offsets[name], child.ohdr, 0, 0, 0))
            _place(out, address - base, b"".join(parts))
            bounds.append(offsets[chunk[-1]])
        # B-tree nodes: key i+1 is the largest name under child i; key 0 the left bound.
        kids_of, child_bounds = group.snods, bounds
        for level, nodes in enumerate(group.nodes):
            next_bounds = []
            for i, address in enumerate(nodes):
                kids = kids_of[i * _BTREE_CHILDREN:(i + 1) * _BTREE_CHILDREN]
                keys = child_bounds[i * _BTREE_CHILDREN:(i + 1) * _BTREE_CHILDREN]
                left = child_bounds[i * _BTREE_CHILDREN - 1] if i else 0
                fields = [left]  # key 0, then each child followed by its largest key
                for key, kid in zip(keys, kids):
                    fields += (kid, key)
                _place(out, address - base, _TREE_HEAD.pack(
                    b"TREE", 0, level, len(kids),
                    nodes[i - 1] if i else UNDEF, nodes[i + 1] if i + 1 < len(nodes) else UNDEF
                ) + struct.pack(f"<{len(fields)}Q", *fields))
                next_bounds.append(keys[-1] if keys else 0)
            kids_of, child_bounds = nodes, next_bounds

    def _dataset_header(self, dataset, refs, cache):
        key = (dataset.shape, dataset.dtype)
        head = cache.get(key)
        if head is None:  # dataspace, datatype, fill value: shared by same-shaped datasets
            head = cache[key] = (_message(0x01, _dataspace(dataset.shape))
                                 + _message(0x03, datatype_message(dataset.dtype), flags=1)
                                 + _message(0x05, _FILL_DEFAULT, flags=1))
        layout = struct.pack("<HHB3xBBQQ6x", 0x08, 24, 0, 3, 1, dataset.offset, dataset.nbytes)
        attrs = [_attribute_message(a, refs[(id(dataset), a)]) for a in sorted(dataset.attrs)]
        body = head + layout + b"".join(attrs)
        return struct.pack("<BBHII4x", 1, 0, 4 + len(attrs), 1, len(body)) + body

    def encode(self, start):
        """Encodes all metadata to start at HDF5 address `start` (8-byte aligned, after
        the data). Returns `(superblock, metadata)`; the file ends at
        `start + len(metadata)`."""
        nodes = self._walk()
        gheap, refs, address = self._global_heaps(nodes, start)
        headers, cache = {}, {}
        for node in nodes:
            if isinstance(node, _Group):
                address = self._plan_group(node, address)
            else:
                node.ohdr = address
                headers[id(node)] = self._dataset_header(node, refs, cache)
                address += _pad8(len(headers[id(node)]))
        out = bytearray(address - start)
        out[:len(gheap)] = gheap
        for node in nodes:
            if isinstance(node, _Group):
                self._encode_group(node, out, start, refs)
            else:
                _place(out, node.ohdr - start, headers[id(node)])
        root = self.root
        superblock = (b"\x89HDF\r\n\x1a\n" + bytes([0, 0, 0, 0, 0, 8, 8, 0])
                      + struct.pack("<HHI", _LEAF_K, _NODE_K, 0)
                      + struct.pack("<QQQQ", 0, UNDEF, address, UNDEF)
                      + struct.pack("<QQI4xQQ", 0, root.ohdr, 1, root.nodes[-1][0], root.heap))
        assert len(superblock) == SUPERBLOCK_SIZE
        return superblock, bytes(out)
