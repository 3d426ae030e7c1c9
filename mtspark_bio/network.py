"""Turn model specs (``models/``) into Brian2 objects."""

from __future__ import annotations

from brian2 import NeuronGroup, Synapses

from mtspark_bio.models.spec import NeuronSpec, SynapseSpec


def make_neurons(spec: NeuronSpec, n: int, name: str, namespace: dict | None = None) -> NeuronGroup:
    """A NeuronGroup of ``n`` neurons following ``spec``; ``namespace`` adds to the
    model's constants (e.g. the TimedArrays a protocol drives it with)."""
    group = NeuronGroup(
        n, spec.equations, threshold=spec.threshold, reset=spec.reset,
        refractory=spec.refractory, method=spec.method, events=dict(spec.events) or None,
        namespace={**spec.namespace, **(namespace or {})}, name=name)
    for event, code in spec.event_actions.items():
        # before the synapses, so plasticity triggered by the same event sees its effect
        # (e.g. context synapses reading a segment's fresh plateau onset time)
        group.run_on_event(event, code, when="before_synapses")
    for variable, value in spec.initial.items():
        setattr(group, variable, value)
    return group


def make_synapses(spec: SynapseSpec, source, target, name: str, namespace: dict | None = None,
                  delay=None) -> Synapses:
    """A Synapses object following ``spec`` (connect it afterwards).

    The target's constants join the namespace because synaptic code may use the
    target's subexpressions (e.g. a segment's ``plateau_k``), which Brian2 resolves in
    the synapses' namespace.
    """
    kwds = {}
    if spec.on_event:
        kwds["on_event"] = dict(spec.on_event)
    if delay is not None:
        kwds["delay"] = delay
    return Synapses(source, target, model=spec.model, on_pre=spec.on_pre, on_post=spec.on_post,
                    method=spec.method,
                    namespace={**(target.namespace or {}), **spec.namespace, **(namespace or {})},
                    name=name, **kwds)


def schedule_consolidation(synapses: Synapses, spec: SynapseSpec, every, name: str | None = None,
                           order: int = 1):
    """Run a three-factor rule's reward step (``spec.consolidate``) every ``every``.

    Runs in the 'end' slot with ``order`` (default 1, after the reward computation that
    protocols schedule in the same slot with order 0); a spec's ``after_consolidation``
    step runs at ``order`` + 2 (3 by default; protocols clear per-presentation state at
    order 4). A closed loop that sets the modulator at orders 0-2 passes ``order=3``.
    """
    if spec.consolidate is None:
        raise ValueError("this synapse model has no consolidation step (continuous mode?)")
    # Brian2 sums summed variables in the 'groups' slot, before the step's spikes and
    # weight changes; the ones these steps read are summed in the 'end' slot instead,
    # just before the step that reads them
    for variables, summed_order in ((spec.summed_at_consolidation, order - 2),
                                    (spec.summed_after_consolidation, order + 1)):
        for variable in variables:
            updater = synapses.summed_updaters[variable]
            updater.when, updater.order = "end", summed_order
    step = synapses.run_regularly(spec.consolidate, dt=every, when="end", order=order, name=name)
    if spec.after_consolidation:
        synapses.run_regularly(spec.after_consolidation, dt=every, when="end", order=order + 2,
                               name=None if name is None else f"{name}_after")
    return step
