import pytest

from kiln.errors import UnsafeFileError
from kiln.saving.zip_names import asset_parts, member_kind


@pytest.mark.parametrize("name,kind", [
    ("metadata.json", "known"), ("config.json", "known"), ("model.weights.h5", "known"),
    ("model.weights.npz", "known"), ("assets/layers/vocab/vocab.txt", "asset"),
    ("assets/ünï code.txt", "asset"), ("assets/", "asset_dir"), ("assets/layers/", "asset_dir"),
])
def test_accepted_names(name, kind):
    assert member_kind(name, "m.keras") == kind


@pytest.mark.parametrize("name,problem", [
    ("", "empty name"), ("../x", r"contains '\.\.'"), ("assets/../config.json", r"'\.\.'"),
    ("/etc/passwd", "absolute"), ("D:/x", "absolute"), ("assets\\x", "backslash"),
    ("assets/a\nb", "control"), ("x.txt", "not an expected member"), ("assets", "not an expected"),
    ("assets//x", "empty or '.'"), ("assets/./x", "empty or '.'"), ("assets/nul.txt", "reserved"),
    ("assets/a:b", "not a portable"), ("assets/" + "x" * 256, "not a portable"),
])
def test_refused_names(name, problem):
    with pytest.raises(UnsafeFileError, match=problem):
        member_kind(name, "m.keras")


def test_asset_parts():
    assert asset_parts("assets/layers/vocab/v.txt") == ["layers", "vocab", "v.txt"]
    assert asset_parts("assets/layers/") == ["layers"]
