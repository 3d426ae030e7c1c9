"""Run in the peer environment (benchmarks/.venv-peer, BindsNET + torch), not ours.

A Diehl & Cook (2015) network from BindsNET (bindsnet.models.DiehlAndCook2015: Poisson
input -> excitatory layer with adaptive thresholds and STDP -> one inhibitory neuron per
excitatory neuron -> lateral inhibition) trained on scikit-learn's digits with the
presentation times of our protocol. Reads its parameters as JSON from argv[1] and
prints one JSON line with its timings.
"""

import json
import sys
import time


def main():
    p = json.loads(sys.argv[1])
    import numpy as np
    import torch
    from bindsnet.encoding import poisson
    from bindsnet.models import DiehlAndCook2015
    from bindsnet.network.monitors import Monitor
    from sklearn.datasets import load_digits

    torch.set_num_threads(p["threads"])
    torch.manual_seed(p["seed"])
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    order = np.random.default_rng(p["seed"]).permutation(len(x))[: p["samples"]]
    dt = p["dt_ms"]
    n_present, n_rest = round(p["t_present_ms"] / dt), round(p["t_rest_ms"] / dt)
    t0 = time.perf_counter()
    network = DiehlAndCook2015(n_inpt=x.shape[1], n_neurons=p["n_hidden"], exc=22.5, inh=17.5, dt=dt,
                               norm=0.1 * x.shape[1], theta_plus=0.05, inpt_shape=(1, 8, 8))
    spikes = Monitor(network.layers["Ae"], state_vars=["s"], time=n_rest + n_present)
    network.add_monitor(spikes, name="Ae_spikes")
    build_s = time.perf_counter() - t0
    counts = np.zeros((len(order), p["n_hidden"]), dtype=np.int32)
    rest = torch.zeros(n_rest, 1, 1, 8, 8, dtype=torch.bool)
    per_sample = []
    cpu0 = time.process_time()
    start = time.perf_counter()
    for k, index in enumerate(order):
        s = time.perf_counter()
        # rest first, then the image as Poisson rates (as mtspark_bio.circuit)
        train = poisson(datum=x[index] * p["input_rate_hz"], time=p["t_present_ms"], dt=dt)
        inputs = {"X": torch.cat([rest, train.view(n_present, 1, 1, 8, 8).bool()])}
        network.run(inputs=inputs, time=p["t_rest_ms"] + p["t_present_ms"])
        counts[k] = spikes.get("s").sum(0).view(-1).numpy()
        network.reset_state_variables()
        per_sample.append(time.perf_counter() - s)
    wall = time.perf_counter() - start
    print(json.dumps({"bindsnet_build_s": build_s, "train_s": wall, "cpu_s": time.process_time() - cpu0,
                      "samples": len(order), "samples_per_s": len(order) / wall,
                      "steady_samples_per_s": (len(order) - 1) / sum(per_sample[1:]),
                      "mean_exc_spikes_per_sample": float(counts.sum(1).mean()),
                      "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                      "bindsnet": __import__("importlib.metadata").metadata.version("bindsnet")}))


if __name__ == "__main__":
    main()
