"""One spiking agent, several Atari games, alternating: learning and forgetting.

Methods
-------
A spiking agent (``mtspark_bio.agent``) plays Atari games through gymnasium + ale-py
(``ALE/<Game>-v5``, bundled ROMs, frame skip 4, the full 18-action space shared by all
games; sticky actions p = 0.25 unless ``--no-sticky``), as MTSpark does (Devkota, Putra
& Shafique 2024, arXiv 2412.04847).

* Observations: playfield crop, foreground and frame-difference maps max-pooled to
  16 x 16 (``mtspark_bio.atari``), encoded as regular spike trains (up to 200 Hz).
* Network: a hidden layer of dendritic neurons (``models.neurons.DendriticNeuron``)
  whose distal segments receive the game as context; a dueling output of a value
  population V and one advantage population per action, Q = V + A - mean(A) (Wang et
  al. 2016); epsilon-greedy actions from Q during training.
* Learning: reward-modulated STDP onto V and onto the chosen action's population, the
  modulator being the TD error delta = sign(r) + gamma V(s') - V(s) (spiking actor-critic,
  Fremaux, Sprekeler & Gerstner 2013), one agent step late (``models.plasticity``,
  delayed-credit R-STDP).
* Readout (``--readout``): ``rstdp`` as above, or ``surrogate``: the output layer is
  replaced by a dueling head of LIF neurons (value and advantage streams feeding
  non-spiking integrators) trained by backpropagation through time with a surrogate
  spike derivative (Neftci, Mostafa & Zenke 2019) as a DQN (Mnih et al. 2015: Huber
  loss, target network; double-DQN target, van Hasselt et al. 2016) on the hidden
  layer's recorded spike trains, set up as standard DQN is (Hessel et al. 2018): one
  replay memory of 100 000 n-step (n = 3) transitions per game kept across blocks,
  one update of 32 transitions per 4 agent steps after 5 000 transitions of warm-up,
  Adam (lr 1e-4) whose moments carry on, a target copy every 2 000 updates; the
  updates are made after each compiled run, and the next run acts with the new
  weights. The Brian2 head carries the trained weights (``mtspark_bio.surrogate``,
  ``mtspark_bio.surrogate_brian2``). ``--agent '{"replay": "block"}'`` gives the
  earlier set-up's memory: the current block's transitions only.
* Exploration: epsilon falls linearly from ``--epsilon-start`` to ``--epsilon-end``
  over the first ``--epsilon-decay`` of each game's training frames (DQN: 1, 0.01,
  0.1; the defaults 0.3, 0.05, 0.5 are the R-STDP agent's).
* Closed loop on compiled code: the cpp_standalone binary calls a C++ bridge from
  ``run_regularly`` once per agent step; the bridge exchanges spike counts and
  observations with this process over named pipes (``mtspark_bio.closed_loop``). The
  runtime device runs the same network with a ``network_operation`` (the reference).
* Schedule: the games alternate every ``--switch-every`` frames (MTSpark's fixed
  switching interval) until each has had ``--frames`` training frames. After the
  untrained network and after every block each game is evaluated for
  ``--eval-episodes`` episodes (epsilon 0.05, no learning, at most ``--eval-max-frames``
  frames per episode: 18 000 = 5 min as in Mnih et al. 2015); a random agent is
  evaluated side by side on the same environment seeds. After the last block a final
  evaluation plays ``--final-eval-episodes`` episodes per game (default 30) on
  environment seeds no block used, agent and random agent on the same seeds, and
  compares them with a one-sided Mann-Whitney U test.
* Results: the score matrix S[block, game] (mean raw score) per agent and the
  continual-learning metrics computed from it on the human-normalised score
  (``mtspark_bio.atari.human_normalised``; raw-score metrics beside them), in one HDF5
  file rewritten atomically after every block, so ``--resume`` continues from the last
  finished block (each block's environments and exploration are seeded by
  (seed, block), so a resumed run equals an uninterrupted one).

Run ``mtspark-bio atari --help`` (from Python: ``from mtspark_bio import api``, ``api.run_atari``).
"""

from __future__ import annotations

from pathlib import Path

from mtspark_bio.blocks import BlockProtocol, run_protocol
from mtspark_bio.experiments import atari as experiment
from mtspark_bio.results import writes_result


def _describe(result, plan):
    def line(block):
        summary = "  ".join(f"{a} " + "/".join(f"{x:.1f}" for x in result.matrix(a)[block]) for a in result.scores)
        return (f"({plan.games[plan.schedule[block]]}, {plan.block_frames(block)} frames) "
                f"scores {'/'.join(plan.games)}: {summary}")
    return line


def _final_evaluation(result, runner, log):
    """More episodes per game after the last block, on environments no block evaluated."""
    if not result.final_done:
        log(f"final evaluation: {result.plan.config['final_eval_episodes']} episodes per game")
        result.final = runner.evaluate(len(result.plan.schedule), episodes=result.plan.config["final_eval_episodes"])
        result.information = runner.information
        result.save(runner, final=True)


PROTOCOL = BlockProtocol(
    "atari", experiment,
    building=lambda plan: f"building the agents' network ({', '.join(plan.learners) or 'none'}) on "
                          f"{plan.config['device']} ...",
    built_seconds=lambda runner: None if runner.loop is None else runner.loop.sim.timings["build_s"],
    describe=_describe, evaluate=lambda result, runner: runner.evaluate, finish=_final_evaluation)


@writes_result
def run(config: dict, out: Path, resume: bool = False, build_dir=None, log=print) -> experiment.ResultFile:
    """Run (or resume) the protocol; returns the finished result file (draws nothing:
    ``mtspark_bio.figures.render(out)`` does)."""
    out = Path(out).absolute()  # the binary's thread changes the working directory
    return run_protocol(PROTOCOL, config, out, resume, build_dir, log)
