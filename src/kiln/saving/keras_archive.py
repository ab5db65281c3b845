"""Whole models in `.keras` archives (Keras 3's format, readable by real Keras 3).

Members: `config.json`, `model.weights.h5`, `assets/...`, and `metadata.json`. kiln
writes `metadata.json` last so that it can carry a checksum of every other member under
its `kiln` key (Keras reads members by name, in any order): SHA-256 for the config and
assets, and for the weights the zip's CRC-32 by default (SHA-256 on request; see
`save_model`). Loading verifies them when present; files without them (written by
Keras) load as they are.
"""

import contextlib
import datetime
import gc
import hashlib
import json
import os
import tempfile

from kiln.core.variable import skip_initialization
from kiln.errors import FileFormatError, WeightsMismatchError
from kiln.saving import weights_io, weights_walk
from kiln.saving.serialization import deserialize_keras_object, serialize_keras_object
from kiln.saving.span_io import Digest, FileWindow, fill_spans, prefetch
from kiln.saving.zip_archive import ArchiveReader  # (imports h5py, as Keras does on import)
from kiln.saving.zip_writer import ArchiveWriter

FORMAT_VERSION = 1
KERAS_VERSION = "3.15.1"  # the Keras release whose archive layout kiln writes
CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"


def _digest_span(fileobj, offset, length, algorithm):
    """Hex digest of bytes [offset, offset+length) of a file object, read in chunks (in a
    helper thread for large spans) without mapping or holding the whole span."""
    digest = Digest(algorithm)
    fill_spans(FileWindow(fileobj, offset, length), [], digest)
    return digest.hexdigest()


def _written_checksum(archive, name, algorithm):
    """Checksum of a member already written by `ArchiveWriter` (re-read from page cache)."""
    start, size, crc = archive.written_member(name)
    if algorithm == "crc32":
        return f"crc32:{crc:08x}"
    position = archive._fp.tell()
    archive._fp.flush()
    try:
        return f"{algorithm}:" + _digest_span(archive._fp, start, size, algorithm)
    finally:
        archive._fp.seek(position)


def _assets_of(model, walked=None):
    """Objects with `save_assets` hooks, with their weight paths (rare; e.g. vocabularies)."""
    walked = walked if walked is not None else weights_walk.walk(model)
    return [(p, o) for p, o in walked if hasattr(o, "save_assets")]


@contextlib.contextmanager
def _cyclic_gc_paused():
    """Pauses the cycle collector; reference counting still frees everything at once.

    Saving allocates tens of thousands of short-lived, acyclic containers (config dicts,
    per-tensor records), and loading builds as many long-lived objects. They trigger
    collections, and a full one traverses every object in the process: ~100 ms for a
    1,000-layer model, often more than the config costs.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def save_model(model, target, weights_checksum="crc32"):
    """Writes `model` to a `.keras` archive at `target` (a path or a writable file object).

    `weights_checksum` chooses how `model.weights.h5` is fingerprinted in metadata.json:
    `"crc32"` (default; free, since the zip already computes it) or `"sha256"` (tamper
    evident, but ~90 MB/s on a CPU without SHA instructions). Small members always get
    SHA-256.
    """
    if weights_checksum not in ("crc32", "sha256"):
        raise ValueError(f"weights_checksum must be 'crc32' or 'sha256'. "
                         f"Received: {weights_checksum!r}")
    with _cyclic_gc_paused():
        walked = weights_walk.walk(model)
        with ArchiveWriter(target) as archive:
            # Weights first: as the archive's first member they can be aligned, written and
            # later read by HDF5 natively (see zip_writer); Keras reads members by name.
            with archive.weights_writer() as h5:
                weights_io.save_state(model, h5, walked)
                # Built while the writer's helper threads still copy and checksum tensors.
                config_bytes = json.dumps(serialize_keras_object(model)).encode("utf-8")
            checksums = {CONFIG: "sha256:" + hashlib.sha256(config_bytes).hexdigest()}
            checksums[WEIGHTS] = _written_checksum(archive, WEIGHTS, weights_checksum)
            archive.write_bytes(CONFIG, config_bytes)
            assets = _assets_of(model, walked)
            if assets:
                with tempfile.TemporaryDirectory() as tmp:
                    for path, obj in assets:
                        folder = os.path.join(tmp, *path.split("/")) if path else tmp
                        os.makedirs(folder, exist_ok=True)
                        obj.save_assets(folder)
                    for name in archive.add_assets(tmp):
                        checksums[name] = _written_checksum(archive, name, "sha256")
            archive.write_json(METADATA, metadata(checksums))
    return target


def metadata(checksums):
    from kiln import __version__

    return {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "kiln": {"version": __version__, "format_version": FORMAT_VERSION,
                 "checksums": checksums},
    }


def _mismatch(archive, name, algorithm, value, actual):
    raise FileFormatError(
        f"{archive.what}: checksum mismatch in member {name!r} ({algorithm} expected "
        f"{value[:16]}, found {actual[:16]}). The file was modified or damaged after "
        "it was saved; re-save or re-download it."
    )


def _verify(archive, meta, defer=None):
    """Checks the checksums listed in metadata.json.

    The member named `defer`, if listed and stored uncompressed, is not read here:
    returns its `(algorithm, expected hex)` so that the caller can check it while it
    reads the member anyway (see `H5Reader.expect_checksum`). Returns None otherwise.
    """
    info = meta.get("kiln") if isinstance(meta, dict) else None
    if not isinstance(info, dict):
        return None
    if not isinstance(info.get("format_version"), int) or info["format_version"] > FORMAT_VERSION:
        raise FileFormatError(
            f"{archive.what} was written with kiln archive format version "
            f"{info.get('format_version')!r}; this kiln reads up to {FORMAT_VERSION}. Upgrade kiln."
        )
    checksums = info.get("checksums")
    if not isinstance(checksums, dict):
        raise FileFormatError(f"{archive.what}: metadata.json's kiln entry has no checksums.")
    deferred = None
    for name, expected in checksums.items():
        if name not in archive:
            raise FileFormatError(
                f"{archive.what}: metadata.json lists member {name!r}, which the archive lacks. "
                "The file is damaged."
            )
        if not isinstance(expected, str) or ":" not in expected:
            raise FileFormatError(f"{archive.what}: malformed checksum for {name!r}.")
        algorithm, value = expected.split(":", 1)
        offset, length = archive.member_span(name)
        if name == defer and algorithm in ("crc32", "sha256"):
            deferred = (algorithm, value)
            continue
        actual = _digest_span(archive._fp, offset, length, algorithm)
        if actual != value:
            _mismatch(archive, name, algorithm, value, actual)
    return deferred


def _check_now(archive, deferred):
    """Checks a deferred weights checksum right away (raises on a mismatch)."""
    if deferred is not None:
        algorithm, value = deferred
        offset, length = archive.member_span(WEIGHTS)
        actual = _digest_span(archive._fp, offset, length, algorithm)
        if actual != value:
            _mismatch(archive, WEIGHTS, algorithm, value, actual)


def _prefetch_weights(archive):
    """Lets the disk read the weights while the config is parsed and the model built."""
    if WEIGHTS in archive and archive._fp is not None:
        try:
            offset, length = archive.member_span(WEIGHTS)
        except FileFormatError:
            return  # compressed: it will be extracted anyway
        prefetch(archive._fp, offset, length)


def load_model(source, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model from a `.keras` archive (path or file object)."""
    # Building a deep model creates many long-lived objects, which trigger full collections
    # (~0.14 s of a 1,000-layer load); the cycles they would find are the model's own.
    with _cyclic_gc_paused():
        return _load_model(source, custom_objects, compile, safe_mode)


def _load_model(source, custom_objects, compile, safe_mode):
    with ArchiveReader(source) as archive:
        if CONFIG not in archive:
            raise FileFormatError(f"{archive.what} has no config.json; it is not a model archive.")
        _prefetch_weights(archive)
        deferred = None
        if METADATA in archive:
            deferred = _verify(archive, archive.read_json(METADATA), defer=WEIGHTS)
        config = archive.read_json(CONFIG)
        if not isinstance(config, dict):
            raise FileFormatError(f"config.json in {archive.what} must hold a JSON object.")
        if not compile:
            config = {k: v for k, v in config.items() if k != "compile_config"}
        with skip_initialization():
            model = deserialize_keras_object(config, custom_objects=custom_objects,
                                             safe_mode=safe_mode)
        if WEIGHTS not in archive:
            raise FileFormatError(
                f"{archive.what} has no model.weights.h5 member. kiln reads archives whose "
                "weights are stored in HDF5 (model.weights.npz is not supported)."
            )
        try:
            reader = archive.open_weights()
        except FileFormatError:  # a damaged member is best reported as such
            _check_now(archive, deferred)
            raise
        with reader:
            if deferred is not None:
                algorithm, value = deferred
                reader.expect_checksum(algorithm, value, lambda actual: _mismatch(
                    archive, WEIGHTS, algorithm, value, actual))
            walked = weights_walk.walk(model)
            try:
                weights_io.load_state(model, weights_io.H5Adapter(reader),
                                      source=f"archive {archive.what!r}", walked=walked)
            except (FileFormatError, WeightsMismatchError):
                reader.verify_checksum()
                raise
            reader.verify_checksum()
        assets = _assets_of(model, walked)
        if assets and archive.asset_names():
            with tempfile.TemporaryDirectory() as tmp:
                archive.extract_assets(tmp)
                for path, obj in assets:
                    folder = os.path.join(tmp, "assets", *path.split("/")) if path else \
                        os.path.join(tmp, "assets")
                    obj.load_assets(folder if os.path.isdir(folder) else None)
    return model


def load_weights_only(model, path, skip_mismatch=False):
    """`model.load_weights("x.keras")`: reads only the archive's weights member."""
    from kiln.saving.weights_files import _ensure_optimizer_built
    with _cyclic_gc_paused(), ArchiveReader(path) as archive:
        if METADATA in archive:
            _verify(archive, archive.read_json(METADATA))
        with archive.open_weights() as reader:
            _ensure_optimizer_built(model, reader)
            return weights_io.load_state(model, weights_io.H5Adapter(reader), skip_mismatch,
                                         source=f"archive {os.fspath(path)!r}")
