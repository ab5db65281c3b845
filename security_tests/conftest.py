"""Shared fixture for hostile-file tests: proves nothing escaped the test's sandbox.

`sandbox` yields an object with `.work` (where the hostile file lives and anything may be
written) and `.outside` (a sibling directory a traversal attack would aim at). At the end
of the test it asserts that nothing changed outside `.work`: no new entry next to the
test's tmp dir and no new file in `.outside`.
"""

import os

import pytest


def _tree(root):
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


class Sandbox:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.work = tmp_path / "a" / "b" / "work"  # deep, so `../../..` lands in .outside's reach
        self.work.mkdir(parents=True)
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        self.freeze()

    def freeze(self):
        """Records the state outside `.work` (call again after planting decoy files)."""
        self._parent = set(os.listdir(self.tmp_path.parent))
        self._rest = {p for p in _tree(self.tmp_path) if not p.startswith(os.path.join("a", "b", "work"))}

    def check(self):
        assert set(os.listdir(self.tmp_path.parent)) == self._parent, "file created next to tmp dir"
        rest = {p for p in _tree(self.tmp_path) if not p.startswith(os.path.join("a", "b", "work"))}
        assert rest == self._rest, f"files created outside the sandbox: {sorted(rest ^ self._rest)}"


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(tmp_path)
    yield box
    box.check()
