"""Restoring a checkpoint into live objects, and the status object that reports on it.

Restoration walks the stored object graph and the live objects together from the root,
matching children by edge name (see object_graph.py). Every match is checked (shapes)
before any variable is written; then values are read from the data file straight into
the variables' memory. Stored values whose objects do not exist yet (a layer not built,
an optimizer without slots) wait: kiln keeps them in memory and assigns them when the
object is built. Layers announce that through the generic `Layer` build hook
(`kiln.layers.layer.BUILT_CALLBACKS`); optimizers and metrics, which have no such hook,
get a one-shot wrapper around their `build` method that removes itself after running.
"""

import collections
import warnings
import weakref

import torch

from kiln.checkpoint import format as fmt
from kiln.checkpoint import object_graph
from kiln.checkpoint.object_graph import PlainValue
from kiln.core.variable import Variable
from kiln.errors import WeightsMismatchError

# -- build notifications ---------------------------------------------------------------------
_waiting = {}  # id(object) -> (weakref to object, [Restoration, ...])


def _fire(obj):
    entry = _waiting.pop(id(obj), None)
    if entry is None or entry[0]() is not obj:
        return
    for restoration in entry[1]:
        restoration.resume(obj)


def _forget(obj_id, ref):
    entry = _waiting.get(obj_id)
    if entry is not None and entry[0] is ref:
        del _waiting[obj_id]


def _watch(obj, restoration):
    from kiln.layers import layer as layer_module

    entry = _waiting.get(id(obj))
    if entry is None or entry[0]() is not obj:
        ref = weakref.ref(obj)
        entry = (ref, [])
        _waiting[id(obj)] = entry
        weakref.finalize(obj, _forget, id(obj), ref)
    if restoration not in entry[1]:
        entry[1].append(restoration)
    if isinstance(obj, layer_module.Layer):
        if _fire not in layer_module.BUILT_CALLBACKS:
            layer_module.BUILT_CALLBACKS.append(_fire)
        return
    if "build" in vars(obj):
        return
    original = obj.build

    def build(*args, **kwargs):
        result = original(*args, **kwargs)
        if vars(obj).get("build") is build:
            del obj.__dict__["build"]
        _fire(obj)
        return result

    object.__setattr__(obj, "build", build)


def _may_build_later(obj):
    return getattr(obj, "built", True) is False and callable(getattr(obj, "build", None))


def describe(shape, dtype):
    return f"{tuple(shape)} {dtype}"


# -- restoration -------------------------------------------------------------------------------
class Restoration:
    """Matches one checkpoint against live objects; keeps waiting values for later builds."""

    def __init__(self, reader, root, skip_mismatch=False, optional=()):
        self.prefix = reader.prefix
        self.nodes = reader.object_graph()
        self.entries = reader.entries()
        self._reader = reader
        self._root = weakref.ref(root)
        self.skip_mismatch = skip_mismatch
        self.restored = set()          # stored node ids already assigned
        self.live_restored = set()     # id() of live variables that received a value
        self.var_match = {}            # stored variable node id -> weakref(live variable)
        self.obj_match = {}            # stored object node id -> weakref(live object)
        self.pending = {}              # id(live object) -> (weakref, stored node id)
        self.values = {}               # stored node id -> tensor, for values still waiting
        self.skipped = []              # mismatch lines skipped under skip_mismatch
        self.skipped_ids = set()       # their stored node ids (already warned about)
        self.wrong_kind = []           # stored variables matched to a non-variable, etc.
        self.optional = set(optional)  # keys neither side must have (the save counter)

    # -- matching ----------------------------------------------------------------------
    def _walk(self, starts):
        plan, visited = [], set()
        queue = collections.deque(starts)
        while queue:
            sid, live = queue.popleft()
            if sid in visited:
                continue
            visited.add(sid)
            self.obj_match[sid] = weakref.ref(live)
            live_children = dict(object_graph.children(live))
            waiting = False
            for name, cid in self.nodes[sid].get("children", []):
                target = live_children.get(name)
                child = self.nodes[cid]
                if target is None:
                    waiting = True
                elif "key" in child:
                    if cid in self.restored:
                        continue
                    is_value = child.get("class") == "value"
                    if isinstance(target, PlainValue) if is_value else isinstance(target, Variable):
                        plan.append((cid, target))
                        if not is_value:
                            self.var_match[cid] = weakref.ref(target)
                    else:
                        line = (f"  {child['key']}  stored as a "
                                f"{'value' if is_value else 'variable'}, but the object has a "
                                f"{type(target).__name__}")
                        if line not in self.wrong_kind:
                            self.wrong_kind.append(line)
                elif object_graph.is_object(target):
                    queue.append((cid, target))
            if waiting and _may_build_later(live):
                self.pending[id(live)] = (weakref.ref(live), sid)
        return plan

    def _slots(self):
        from kiln.optimizers.optimizer import Optimizer

        plan = []
        for sid, ref in list(self.obj_match.items()):
            live, slots = ref(), self.nodes[sid].get("slots")
            if not slots or not isinstance(live, Optimizer):
                continue
            if not live.built:
                self.pending[id(live)] = (ref, sid)
                continue
            lookup = {(id(r), name): s for r, name, s in object_graph.slot_variables(live)}
            for ref_id, name, slot_id in slots:
                variable = self.var_match.get(ref_id)
                variable = variable() if variable is not None else None
                if slot_id in self.restored or variable is None:
                    continue
                slot = lookup.get((id(variable), name))
                if slot is not None:
                    plan.append((slot_id, slot))
        return plan

    # -- assigning ---------------------------------------------------------------------
    def _check(self, plan):
        problems, fitting, mismatched = [], [], []
        for cid, target in plan:
            entry = self.entries[self.nodes[cid]["key"]]
            if isinstance(target, Variable) and tuple(target.shape) != entry.shape:
                mismatched.append(cid)
                problems.append(f"  {entry.key}  expected {describe(target.shape, target.dtype)}"
                                f", found {describe(entry.shape, entry.dtype)}")
            else:
                fitting.append((cid, target))
        if problems and not self.skip_mismatch:
            raise WeightsMismatchError(
                f"Could not restore checkpoint {self.prefix!r} ({len(problems)} problems):\n"
                + "\n".join(problems) + "\nNothing was restored. Build the objects with the "
                "shapes they had when saved, or pass `skip_mismatch=True` to load_weights.",
                problems)
        if problems:
            warnings.warn(f"Skipped {len(problems)} values of checkpoint {self.prefix!r} "
                          "whose shapes differ (skip_mismatch=True):\n" + "\n".join(problems),
                          stacklevel=5)
            self.skipped.extend(problems)
            self.skipped_ids.update(mismatched)
        return fitting

    def _assign(self, cid, target, tensor):
        node = self.nodes[cid]
        if isinstance(target, PlainValue):
            setattr(target.owner, target.name, PlainValue.convert(tensor, node.get("kind")))
        else:
            target.assign(tensor)
            self.live_restored.add(id(target))
        self.restored.add(cid)

    def _execute(self, plan, from_file):
        plan = self._check(plan)
        if not plan:
            return
        if not from_file:
            for cid, target in plan:
                if cid in self.values:
                    self._assign(cid, target, self.values.pop(cid))
            return
        with self._reader.open() as f, torch.no_grad():
            for cid, target in plan:
                entry = self.entries[self.nodes[cid]["key"]]
                value = getattr(target, "_value", None)
                if (isinstance(target, Variable) and value.device.type == "cpu"
                        and value.is_contiguous() and value.dtype == fmt.TORCH_DTYPES[entry.dtype]):
                    if entry.size:
                        fmt.read_into(f, entry, value)
                    self.restored.add(cid)
                    self.live_restored.add(id(target))
                else:
                    self._assign(cid, target, fmt.read_tensor(f, entry))

    def _register(self):
        if not self.pending:
            return
        if not self.values:
            with self._reader.open() as f:
                for cid, node in enumerate(self.nodes):
                    if "key" in node and cid not in self.restored:
                        self.values[cid] = fmt.read_tensor(f, self.entries[node["key"]])
        for ref, _ in list(self.pending.values()):
            live = ref()
            if live is not None:
                _watch(live, self)

    def run(self):
        root = self._root()
        plan = self._walk([(0, root)])
        plan += self._slots()
        self._execute(plan, from_file=True)
        self._register()
        return self

    def resume(self, obj):
        """Called when a waiting object has been built: assigns what now has a home."""
        item = self.pending.pop(id(obj), None)
        if item is None or item[0]() is not obj:
            return
        plan = self._walk([(item[1], obj)])
        plan += self._slots()
        self._execute(plan, from_file=False)
        for ref, _ in list(self.pending.values()):
            live = ref()
            if live is not None and _may_build_later(live):
                _watch(live, self)
        if not self.pending:
            self.values.clear()

    # -- reporting ---------------------------------------------------------------------
    def unused(self):
        """Stored keys that no live object received (the object graph entry excluded)."""
        return sorted(n["key"] for i, n in enumerate(self.nodes)
                      if "key" in n and i not in self.restored and n["key"] not in self.optional)

    def waiting_for(self):
        names = []
        for ref, _ in self.pending.values():
            live = ref()
            if live is not None:
                names.append(getattr(live, "name", type(live).__name__))
        return names

    def missing(self, root):
        """Keys (as this root would save them) of live variables that got no value."""
        graph = object_graph.Graph(root)
        return [key for key, v in graph.all_variables()
                if id(v) not in self.live_restored and key not in self.optional]


# -- the status objects ------------------------------------------------------------------------
class CheckpointLoadStatus:
    """What `Checkpoint.restore()` and `model.load_weights()` return for a checkpoint.

    Example:
        >>> status = model.load_weights("ckpt")
        >>> status.assert_consumed()          # every value used, every variable restored
        >>> status.assert_existing_objects_matched()
        >>> status.expect_partial()           # silence the "unused values" warning
    """

    def __init__(self, restoration, root):
        self._restoration = restoration
        self._root = root
        self._partial = False

    @property
    def unused_keys(self):
        """Stored keys not (yet) assigned to any live variable."""
        return self._restoration.unused()

    @property
    def missing_keys(self):
        """Live variables (by the key they would be saved under) that got no value."""
        return self._restoration.missing(self._root)

    def _fail(self, what, lines):
        r = self._restoration
        message = (f"Checkpoint {r.prefix!r} {what} ({len(lines)} problems):\n"
                   + "\n".join(lines))
        waiting = r.waiting_for()
        if waiting:
            message += (f"\nValues are waiting for objects that are not built yet: "
                        f"{waiting}. They are restored when those objects are built (call the "
                        "model on data or build it).")
        raise AssertionError(message)

    def _unused_lines(self):
        lines = [f"  {key}  present in the checkpoint, not used by the objects"
                 for key in self.unused_keys]
        return lines + self._restoration.wrong_kind + self._restoration.skipped

    def assert_consumed(self):
        """Raises AssertionError unless every stored value was restored into an object
        and every variable reachable from the root got a value."""
        lines = self._unused_lines()
        lines += [f"  {key}  present in the objects, missing from the checkpoint"
                  for key in self.missing_keys]
        if lines:
            self._fail("does not match the objects exactly", lines)
        return self

    def assert_existing_objects_matched(self):
        """Raises AssertionError unless every existing variable reachable from the root got
        a value (extra values in the checkpoint are fine)."""
        lines = [f"  {key}  present in the objects, missing from the checkpoint"
                 for key in self.missing_keys]
        lines += self._restoration.wrong_kind + self._restoration.skipped
        if lines:
            self._fail("left existing variables unrestored", lines)
        return self

    def assert_nontrivial_match(self):
        """Raises AssertionError unless at least one variable was restored."""
        if not self._restoration.live_restored:
            self._fail("matched no variable", [f"  {k}  not used" for k in self.unused_keys[:20]])
        return self

    def expect_partial(self):
        """Marks a partial restore as intended: no warning about unused values."""
        self._partial = True
        return self

    def run_restore_ops(self, session=None):
        """Nothing to run: kiln restores eagerly (TensorFlow graph-mode compatibility)."""

    def initialize_or_restore(self, session=None):
        """Nothing to run: kiln restores eagerly (TensorFlow graph-mode compatibility)."""

    def __del__(self):
        try:
            r = self._restoration
            if self._partial or r.pending:
                return
            skipped = {r.nodes[i]["key"] for i in r.skipped_ids}
            unused = [k for k in r.unused() if k not in skipped]
        except Exception:
            return
        if unused:
            shown = "\n".join(f"  {k}" for k in unused[:10])
            more = f"\n  ... and {len(unused) - 10} more" if len(unused) > 10 else ""
            warnings.warn(
                f"{len(unused)} values of checkpoint {r.prefix!r} were not used by the "
                f"restored objects:\n{shown}{more}\nIf only part of the checkpoint is meant "
                "to be loaded, call `.expect_partial()` on the status.", stacklevel=2)

    def __repr__(self):
        return f"<kiln.checkpoint.CheckpointLoadStatus of {self._restoration.prefix!r}>"


class InitializationOnlyStatus:
    """What `Checkpoint.restore(None)` returns: nothing was restored."""

    def _fail(self):
        raise AssertionError("No checkpoint was given (save_path=None), so nothing was "
                             "restored. Pass a path, e.g. manager.latest_checkpoint.")

    def assert_consumed(self):
        self._fail()

    def assert_existing_objects_matched(self):
        self._fail()

    def assert_nontrivial_match(self):
        self._fail()

    def expect_partial(self):
        return self

    def run_restore_ops(self, session=None):
        """Nothing to do."""

    def initialize_or_restore(self, session=None):
        """Nothing to do: objects keep their initial values."""
