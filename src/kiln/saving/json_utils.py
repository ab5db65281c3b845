"""Parsing JSON that comes from a file someone else wrote (config.json, metadata.json, indexes).

Untrusted JSON can be huge, nested deep enough to crash a recursive parser, or not even
UTF-8. `load_untrusted_json` checks each of these before and while parsing and reports
problems as `kiln.errors.FileFormatError` naming the file part.
"""

import json

import numpy as np

from kiln.errors import FileFormatError

__all__ = ["load_untrusted_json", "CONFIG_MAX_BYTES", "METADATA_MAX_BYTES", "MAX_DEPTH"]

CONFIG_MAX_BYTES = 64 * 1024 * 1024
METADATA_MAX_BYTES = 1024 * 1024
MAX_DEPTH = 200

_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_CHUNK = 8 * 1024 * 1024


def _max_depth(data: bytes) -> int:
    """Returns the deepest `[`/`{` nesting in JSON bytes, without recursion.

    Brackets inside string literals are ignored: a `"` opens or closes a string unless an
    odd number of backslashes precedes it. UTF-8 never uses the bytes of `"`, `\\`, `[`,
    `]`, `{`, `}` inside multi-byte characters, so scanning bytes is exact. The scan is
    vectorized and done in chunks (carrying the string state and the trailing backslash
    run across chunk borders), so memory stays bounded for big configs.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    depth = deepest = 0
    in_string = 0  # 1 while inside a string literal at the chunk border
    carry = 0  # length of the backslash run that ends the previous chunk
    for start in range(0, len(buf), _CHUNK):
        chunk = buf[start:start + _CHUNK]
        n = len(chunk)
        quotes = np.flatnonzero(chunk == _QUOTE)
        slashes = np.flatnonzero(chunk == _BACKSLASH)
        # Backslash runs: start index of the run each backslash belongs to.
        if slashes.size:
            new_run = np.ones(slashes.size, dtype=bool)
            new_run[1:] = slashes[1:] != slashes[:-1] + 1
            run_start = slashes[np.maximum.accumulate(np.where(new_run, np.arange(slashes.size), 0))]
            j = np.minimum(np.searchsorted(slashes, quotes - 1), slashes.size - 1)
            preceded = (quotes > 0) & (slashes[j] == quotes - 1)
            run = np.where(preceded, quotes - run_start[j], 0)
            run += np.where((preceded & (run_start[j] == 0)) | (quotes == 0), carry, 0)
            ends_run = slashes[-1] == n - 1
            next_carry = (n - int(run_start[-1]) + (carry if run_start[-1] == 0 else 0)) if ends_run else 0
        else:
            run = np.where(quotes == 0, carry, 0)
            next_carry = 0
        real_quotes = quotes[run % 2 == 0]
        brackets = np.flatnonzero(_STEP[chunk])
        outside = (np.searchsorted(real_quotes, brackets) + in_string) % 2 == 0
        steps = _STEP[chunk[brackets[outside]]]
        if steps.size:
            running = np.cumsum(steps, dtype=np.int64) + depth
            deepest = max(deepest, int(running.max()))
            depth = int(running[-1])
        in_string = (in_string + len(real_quotes)) % 2
        carry = next_carry
    return deepest


def load_untrusted_json(data, what, max_bytes=CONFIG_MAX_BYTES, max_depth=MAX_DEPTH):
    """Parses JSON bytes from an untrusted file, enforcing size, depth and encoding.

    Args:
        data: The raw bytes (`bytes`, `bytearray` or `memoryview`). A leading UTF-8 byte
            order mark is tolerated.
        what: What the bytes are, used in error messages, e.g. `"config.json in
            model.keras"`.
        max_bytes: Size limit. Defaults to 64 MiB (`CONFIG_MAX_BYTES`); use
            `METADATA_MAX_BYTES` (1 MiB) for small members such as `metadata.json`.
        max_depth: Deepest allowed nesting of lists/objects. Defaults to 200.

    Returns:
        The parsed Python value (dicts, lists, str, int, float, bool, None).

    Raises:
        kiln.errors.FileFormatError: when the data is too large, too deeply nested, not
            valid UTF-8 or not valid JSON.

    Example:
        >>> load_untrusted_json(b'{"keras_version": "3.15.1"}', "metadata.json")
        {'keras_version': '3.15.1'}
    """
    if isinstance(data, str):
        raise TypeError(f"load_untrusted_json expects bytes for {what}, received str. "
                        "Pass the raw file content (e.g. `path.read_bytes()`).")
    size = memoryview(data).nbytes
    if size > max_bytes:
        raise FileFormatError(
            f"{what} is {size} bytes, more than the {max_bytes}-byte limit for this "
            "file part. The file is damaged or was not written by Keras/kiln."
        )
    data = bytes(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FileFormatError(
            f"{what} is not valid UTF-8 (byte {err.start}: {data[err.start:err.start + 4]!r}). "
            "Keras writes JSON as UTF-8; the file is damaged or not a Keras file."
        ) from None
    depth = _max_depth(data)
    if depth > max_depth:
        raise FileFormatError(
            f"{what} nests lists/objects {depth} levels deep; at most {max_depth} are "
            "allowed. Real model configs stay far below this; the file is damaged or hostile."
        )
    try:
        return json.loads(text)
    except RecursionError:  # cannot happen below the depth limit, kept as a backstop
        raise FileFormatError(f"{what} is nested too deeply to parse.") from None
    except ValueError as err:  # JSONDecodeError, or an integer with too many digits
        raise FileFormatError(f"{what} is not valid JSON: {err}.") from None
