"""The forgetting protocol end to end on a tiny circuit: resume equivalence, atomic
checkpoints, bad-input errors, and compile-once on the cpp device."""

import gzip
import json

import h5py
import numpy as np
import pytest

from mtspark_bio.front import cli
from mtspark_bio.devices import Simulation
from mtspark_bio.metrics import continual_metrics
from mtspark_bio.experiments import forgetting

TINY = ["--n-tasks", "2", "--train-samples", "20", "--test-samples", "10", "--chunk", "10",
        "--circuit", json.dumps({"n_hidden": 24, "n_inhibitory": 6, "context_per_task": 4}),
        "--no-figure"]


def read(path):
    with h5py.File(path, "r") as f:
        out = {"complete": bool(f.attrs["complete"]), "blocks_done": int(f.attrs["blocks_done"]),
               "config": json.loads(f.attrs["config"]), "schedule": f["schedule"][...].tolist()}
        for v in f["variants"]:
            g = f["variants"][v]
            out[v] = {"R": g["accuracy_matrix"][...], "baseline": g["baseline_accuracy"][...],
                      "w": g["state/readout_w"][...],
                      "metrics": {k: g.attrs[k] for k in ("acc", "bwt", "fwt", "forgetting")}}
    return out


@pytest.mark.runtime
def test_resume_after_interruption_gives_the_same_result(tmp_path, interrupt_training):
    args = TINY + ["--device", "runtime", "--variants", "dendritic,point"]
    full = tmp_path / "full.h5"
    assert cli.main(["forgetting", "--out", str(full)] + args) == 0

    # interrupt the second block's training, as Ctrl-C would
    interrupted = tmp_path / "interrupted.h5"
    interrupt_training(1)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["forgetting", "--out", str(interrupted)] + args)
    partial = read(interrupted)  # a valid file holding the finished block only
    assert partial["blocks_done"] == 1 and not partial["complete"]
    assert np.isfinite(partial["dendritic"]["R"][0]).all() and np.isnan(partial["dendritic"]["R"][1]).all()
    assert not list(tmp_path.glob("*.tmp-*"))

    with h5py.File(interrupted, "r") as f:
        first_build = f.attrs["build_s"]

    interrupt_training(None)
    assert cli.main(["forgetting", "--out", str(interrupted), "--resume"] + args) == 0
    with h5py.File(interrupted, "r") as f:  # both processes' builds are counted
        assert f.attrs["build_s"] > first_build > 0
    a, b = read(full), read(interrupted)
    assert b["complete"]
    for v in ("dendritic", "point"):
        assert np.isfinite(a[v]["R"]).all() and np.isfinite(list(a[v]["metrics"].values())).all()
        np.testing.assert_array_equal(a[v]["R"], b[v]["R"])
        np.testing.assert_array_equal(a[v]["w"], b[v]["w"])
        assert a[v]["metrics"] == pytest.approx(b[v]["metrics"])


def _idx(path, magic, array):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


# Each case names the words of its own error message (protocols/forgetting.py,
# mtspark_bio/blocks.py, mtspark_bio/data.py); the ids keep those words out of
# tmp_path, which the messages may quote.
@pytest.mark.parametrize("extra, message", [
    pytest.param(["--variants", "dendritic,banana"], ["unknown variant(s) ['banana']"], id="variant"),
    pytest.param(["--tasks", "split", "--n-tasks", "6"], ["--n-tasks must be in 1..5", "split in pairs, got 6"],
                 id="split-tasks"),
    pytest.param(["--n-tasks", "0"], ["--n-tasks must be >= 1 (got 0)"], id="zero-tasks"),
    pytest.param(["--dataset", "mnist"], ["dataset 'mnist' needs a data directory"], id="no-data-dir"),
    pytest.param(["--dataset", "mnist", "--data-dir", "{missing}"], ["mnist: data directory", "does not exist"],
                 id="absent-dir"),
    pytest.param(["--dataset", "fashion-mnist", "--data-dir", "{corrupt}"],
                 ["cannot read", "t10k-images-idx3-ubyte.gz", "(truncated or corrupt download?)"], id="bad-gzip"),
    pytest.param(["--dataset", "imagenet"], ["unknown dataset 'imagenet'"], id="dataset"),
    pytest.param(["--circuit", "{not json"], ["--circuit is not valid JSON"], id="json"),
    pytest.param(["--circuit", '{"n_hiden": 3}'], ["--circuit has unknown keys ['n_hiden']"], id="circuit-key"),
    pytest.param(["--circuit", '{"integration": "rk9"}'], ["integration must be", "(got 'rk9')"],
                 id="integration"),
    pytest.param(["--resume"], ["--resume: there is no", "to resume; run without --resume"], id="resume"),
    pytest.param(["--device", "cuda"], ["--device cuda needs", "use --device cpp"], id="cuda"),
])
def test_bad_input_fails_before_simulating(tmp_path, capsys, monkeypatch, extra, message):
    if "cuda" in extra:
        from mtspark_bio import cuda_device

        monkeypatch.setattr(cuda_device, "gpu_available", lambda: False)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    _idx(corrupt / "train-images-idx3-ubyte.gz", 0x803, np.zeros((4, 28, 28)))
    _idx(corrupt / "train-labels-idx1-ubyte.gz", 0x801, np.zeros(4))
    (corrupt / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    _idx(corrupt / "t10k-labels-idx1-ubyte.gz", 0x801, np.zeros(4))
    extra = [e.replace("{missing}", str(tmp_path / "missing")).replace("{corrupt}", str(corrupt)) for e in extra]
    monkeypatch.setattr(Simulation, "__init__", lambda *a, **k: pytest.fail("simulated despite bad input"))
    out = tmp_path / "r.h5"
    assert cli.main(["forgetting", "--out", str(out)] + TINY + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and all(words in err for words in message), err
    assert not out.exists() and not list(tmp_path.glob("*.h5*"))


def test_existing_results_are_not_overwritten(tmp_path, capsys):
    out = tmp_path / "r.h5"
    out.write_bytes(b"precious")
    assert cli.main(["forgetting", "--out", str(out)] + TINY) == 2
    assert "--resume" in capsys.readouterr().err and out.read_bytes() == b"precious"


def test_unknown_option_exits_nonzero():
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["forgetting", "--no-such-option"])
    assert exit_info.value.code == 2


@pytest.mark.standalone
@pytest.mark.slow
def test_cpp_protocol_compiles_once(tmp_path, monkeypatch):
    builds = []
    original = Simulation.build
    monkeypatch.setattr(Simulation, "build", lambda self, *a, **k: builds.append(1) or original(self, *a, **k))
    out = tmp_path / "cpp.h5"
    assert cli.main(["forgetting", "--out", str(out), "--device", "cpp", "--variants", "dendritic"] + TINY) == 0
    result = read(out)
    assert builds == [1] and result["complete"]
    R, baseline = result["dendritic"]["R"], result["dendritic"]["baseline"]
    assert R.shape == (2, 2) and np.isfinite(R).all() and np.isfinite(baseline).all()
    # each entry is a fraction of one task's test images (class-balanced: test_samples of them)
    n_test = result["config"]["test_samples"]
    np.testing.assert_allclose(R * n_test, np.round(R * n_test), atol=1e-9)
    np.testing.assert_allclose(baseline * n_test, np.round(baseline * n_test), atol=1e-9)
    # the stored metrics are those of the stored matrix
    assert result["dendritic"]["metrics"]["acc"] == pytest.approx(R[-1].mean())
    assert result["dendritic"]["metrics"] == pytest.approx(
        continual_metrics(R, result["schedule"], baseline))


@pytest.mark.runtime
def test_surrogate_readout_is_trained_per_block_and_saved(tmp_path, monkeypatch):
    """--readout surrogate: the BPTT readout's weights change in every training block,
    are saved for --resume, and its decisions come from the Brian2 readout."""
    out = tmp_path / "s.h5"
    args = ["--n-tasks", "2", "--train-samples", "10", "--test-samples", "5", "--chunk", "10",
            "--circuit", json.dumps({"n_hidden": 24, "n_inhibitory": 6, "context_per_task": 4}),
            "--no-figure", "--device", "runtime", "--variants", "dendritic",
            "--readout", "surrogate", "--surrogate-epochs", "2"]
    weights = []
    original = forgetting.SurrogateReadouts.train

    def train_and_keep(self, block):
        before = {k: v.copy() for k, v in self.params["dendritic"].items()}
        original(self, block)
        weights.append((before, {k: v.copy() for k, v in self.params["dendritic"].items()}))

    monkeypatch.setattr(forgetting.SurrogateReadouts, "train", train_and_keep)
    assert cli.main(["forgetting", "--out", str(out)] + args) == 0
    assert len(weights) == 2
    for before, after in weights:
        assert not np.allclose(before["W0"], after["W0"])
    np.testing.assert_array_equal(weights[1][0]["W0"], weights[0][1]["W0"])  # block 2 starts where block 1 ended
    with h5py.File(out, "r") as f:
        saved = f["variants/dendritic/surrogate_weights/W0"][...]
        assert json.loads(f.attrs["config"])["readout"] == "surrogate"
    np.testing.assert_array_equal(saved, weights[-1][1]["W0"])
