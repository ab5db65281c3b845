"""`Progbar`: the Keras 3 progress bar, live in a terminal and one line per run elsewhere.

In a terminal (stdout is a TTY) the bar redraws in place with carriage returns, at most
every `interval` seconds, in Keras 3's colours:

    32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 5ms/step - accuracy: 0.8125 - loss: 0.4232

When stdout is not a terminal (a log file, a notebook capture, a test) nothing is drawn
while running and `verbose=1` prints only the final line, without escape codes.
`verbose=2` prints one summary line at the end: `32/32 - 0s - 5ms/step - loss: 0.4232`.
"""

import math
import sys
import time

import numpy as np

_BAR_CHAR = "\u2501"  # the heavy horizontal line Keras 3 draws its bar with


def _is_tty(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def format_time_per_unit(seconds, unit_name):
    """`" 5ms/step"`-style text for a duration per unit, as Keras prints it."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def format_value(value):
    """Keras's number format in progress lines: 4 decimals, scientific when tiny."""
    if isinstance(value, (list, tuple, np.ndarray)):
        value = float(np.mean(value))
    if isinstance(value, str):
        return value
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


class Progbar:
    """Displays a progress bar (Keras 3's `keras.utils.Progbar` API).

    Args:
        target: Total number of steps expected, or None if unknown.
        width: Width of the bar in characters.
        verbose: 0 (silent), 1 (bar) or 2 (one line at the end).
        interval: Minimum number of seconds between two redraws of a live bar.
        stateful_metrics: Names of values shown as given. Other values are averaged over
            the steps seen (Keras's convention for values reported per batch).
        stateless_metrics: Alternatively, the names of the values to average; all others
            are shown as given. Give at most one of the two lists.
        unit_name: What a step is called in the time display (`"step"`, `"sample"`).

    Example:
        >>> bar = kiln.utils.progbar.Progbar(target=10)
        >>> for i in range(10):
        ...     bar.update(i + 1, values=[("loss", 0.5)])
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Progbar takes `stateful_metrics` or `stateless_metrics`, not both. Received: "
                f"stateful_metrics={stateful_metrics!r}, stateless_metrics={stateless_metrics!r}"
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._stateful = set(stateful_metrics) if stateful_metrics is not None else None
        self._stateless = set(stateless_metrics) if stateless_metrics is not None else None
        if self._stateful is None and self._stateless is None:
            self._stateful = set()
        # A terminal or a notebook (which renders carriage returns) gets the live bar.
        self._dynamic_display = _is_tty(sys.stdout) or "ipykernel" in sys.modules
        self._values = {}
        self._values_order = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    # -- when does an update draw something -------------------------------------------
    def will_render(self, current, finalize=None):
        """True when `update(current, ...)` would print, so callers can skip computing values.

        Example:
            >>> if bar.will_render(step):
            ...     bar.update(step, values=expensive_values())
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 1:
            if finalize:
                return True
            return self._dynamic_display and time.time() - self._last_update >= self.interval
        if self.verbose == 2:
            return bool(finalize)
        return False

    # -- updates ---------------------------------------------------------------------
    def update(self, current, values=None, finalize=None):
        """Moves the bar to step `current`.

        Args:
            current: Index of the current step (1-based count of steps done).
            values: List of `(name, value)` pairs to display.
            finalize: Whether this is the last update; defaults to `current >= target`.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values or [], finalize)
        self._seen_so_far = current
        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            quiet = not self._dynamic_display or now - self._last_update < self.interval
            if not finalize and quiet:
                return
            self._write(self._bar_line(current, now, time_per_unit, finalize), finalize)
        elif self.verbose == 2 and finalize:
            self._write(self._summary_line(current, now, time_per_unit), True)
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    def _record(self, current, values, finalize):
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            stateless = (name not in self._stateful) if self._stateful is not None \
                else (name in self._stateless)
            if not stateless or finalize:
                self._values[name] = [value, 1]
                continue
            weight = max(current - self._seen_so_far, 1)
            total = self._values.setdefault(name, [0.0, 0])
            total[0] += value * weight
            total[1] += weight

    def _average(self, name):
        value, count = self._values[name]
        if isinstance(value, str):
            return value
        if not isinstance(value, float):
            value = float(np.mean(value))
        return value / max(1, count)

    def _metrics_text(self):
        return "".join(f" - {name}: {format_value(self._average(name))}"
                       for name in self._values_order)

    # -- rendering -------------------------------------------------------------------
    def _bar_line(self, current, now, time_per_unit, finalize):
        colour = self._dynamic_display
        bold = (lambda s: f"\x1b[1m{s}\x1b[0m") if colour else (lambda s: s)
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:>{digits}d}/{self.target}"
            done = min(int(self.width * current / self.target), self.width)
            if colour:
                bar = f"{bold(count)} "
                if done > 0:
                    bar += f"\x1b[32m{_BAR_CHAR * done}\x1b[0m"
                bar += f"\x1b[37m{_BAR_CHAR * (self.width - done)}\x1b[0m"
            else:
                bar = f"{count} {_BAR_CHAR * self.width}"
        else:
            bar = f"{current:7d}/Unknown"
        if self.target is not None and self.target > 0 and not finalize:
            eta = time_per_unit * (self.target - current)
            if eta > 3600:
                eta_text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_text = f"{int(eta)}s"
        else:
            eta_text = f"{now - self._start:.0f}s"
        info = f" {bold(eta_text)}{format_time_per_unit(time_per_unit, self.unit_name)}"
        return bar + info + self._metrics_text()

    def _summary_line(self, current, now, time_per_unit):
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:>{digits}d}/{self.target}"
        else:
            count = f"{current}"
        return (f"{count} - {now - self._start:.0f}s -"
                f"{format_time_per_unit(time_per_unit, self.unit_name)}{self._metrics_text()}")

    def _write(self, line, finalize):
        if self._dynamic_display:
            visible = len(_strip_ansi(line))
            padding = " " * max(self._prev_total_width - visible, 0)
            self._prev_total_width = visible
            text = "\r" + line + padding + ("\n" if finalize else "")
        else:
            text = line + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()

    def _estimate_step_duration(self, current, now):
        # The first step (graph building, allocations) is not representative: once
        # more steps are done, time is measured from the end of the first one.
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit


def _strip_ansi(text):
    out, i = [], 0
    while i < len(text):
        if text[i] == "\x1b":
            end = text.find("m", i)
            i = end + 1 if end != -1 else len(text)
            continue
        out.append(text[i])
        i += 1
    return "".join(out)
