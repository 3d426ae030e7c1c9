"""Shared fixtures: every test starts and ends on Brian2's runtime device (numpy target).

Standalone tests build into pytest's temporary directories (``tmp_path`` /
``tmp_path_factory``), never into the working tree.
"""

import pytest


def reset_brian2():
    """Back to the runtime device, numpy target and the default time step."""
    import brian2
    from brian2.devices.device import reinit_devices

    reinit_devices()
    brian2.set_device("runtime")
    brian2.prefs.codegen.target = "numpy"
    brian2.defaultclock.dt = 0.1 * brian2.ms


@pytest.fixture(autouse=True)
def brian2_runtime():
    """Reset Brian2 after every test, so a test that switched to a standalone device
    (or changed dt or the code-generation target) cannot leak into the next one."""
    yield
    reset_brian2()


@pytest.fixture
def standalone_dir(tmp_path):
    """A fresh temporary directory for a standalone project."""
    directory = tmp_path / "standalone"
    directory.mkdir()
    return directory


@pytest.fixture
def interrupt_training(monkeypatch):
    """``interrupt_training(block)``: from then on the forgetting protocol raises
    KeyboardInterrupt when it starts training ``block``, as Ctrl-C would;
    ``interrupt_training(None)`` trains normally again."""
    from mtspark_bio.experiments import forgetting

    original = forgetting.Runner.train

    def interrupt(block):
        def train_then_stop(self, trained):
            if trained == block:
                raise KeyboardInterrupt
            return original(self, trained)

        monkeypatch.setattr(forgetting.Runner, "train", original if block is None else train_then_stop)

    return interrupt
