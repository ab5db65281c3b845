"""Shared pytest setup for kiln's integration tests."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs(*capabilities): the kiln capabilities a test exercises, any of "
        "training, saving, serialization, checkpoint, export, legacy_h5.",
    )
