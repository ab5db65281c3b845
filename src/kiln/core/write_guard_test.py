import threading
import time

import torch

from kiln.core import write_guard


def test_a_held_tensor_is_written_only_after_release():
    held, other = torch.zeros(4), torch.zeros(4)
    done = write_guard.hold([held])
    order = []

    def writer():
        write_guard.before_write(held)
        order.append("write")

    thread = threading.Thread(target=writer)
    thread.start()
    write_guard.before_write(other)  # not held: goes ahead at once
    time.sleep(0.05)
    assert order == [] and thread.is_alive()
    order.append("copied")
    write_guard.release(done)
    thread.join(5)
    assert order == ["copied", "write"]
    write_guard.before_write()  # nothing held any more: returns at once


def test_waiting_for_everything_waits_for_every_hold():
    a, b = torch.zeros(2), torch.zeros(2)
    first, second = write_guard.hold([a]), write_guard.hold([b])
    finished = threading.Event()

    def writer():
        write_guard.before_write()
        finished.set()

    thread = threading.Thread(target=writer)
    thread.start()
    write_guard.release(first)
    assert not finished.wait(0.05)
    write_guard.release(second)
    assert finished.wait(5)
    thread.join(5)
