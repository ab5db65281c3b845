"""Per-thread state of a layer call in progress: nesting depth, the training flag,
the variable-name scope, and which layers recorded losses during the call."""

import threading

_state = threading.local()


def get():
    ctx = getattr(_state, "ctx", None)
    if ctx is None:
        ctx = _state.ctx = CallContext()
    return ctx


class CallContext:
    __slots__ = ("depth", "training", "name_scope", "loss_layers")

    def __init__(self):
        self.depth = 0
        self.training = None
        self.name_scope = []
        self.loss_layers = []
