"""Model pages: the Brian2 equations a model hands to the engine, and readable defaults.

    ```{model-equations} DendriticNeuron(n_segments=2).spec()
    :module: mtspark_bio.models.neurons
    ```

evaluates the expression in the named module (Brian2's units are in scope too) and renders the returned
:class:`~mtspark_bio.models.spec.NeuronSpec` or :class:`~mtspark_bio.models.spec.SynapseSpec`
field by field (equations, threshold, reset, events, the code run at reward time, the
namespace of constants). The equations shown are therefore the ones the simulation
runs, never a copy that can drift from them.
"""

from __future__ import annotations

import dataclasses
import importlib

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

# fields shown as code blocks, in this order, with a caption each
_CODE_FIELDS = {
    "equations": "equations",
    "model": "synapse model",
    "threshold": "threshold",
    "reset": "reset",
    "on_pre": "on_pre (presynaptic spike)",
    "on_post": "on_post (postsynaptic spike or event)",
    "consolidate": "consolidate (run at reward or presentation end)",
    "after_consolidation": "after consolidation",
}


def _format_value(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class ModelEquations(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"module": directives.unchanged_required}

    def run(self):
        from brian2 import units

        module = importlib.import_module(self.options["module"])
        scope = {**{name: getattr(units, name) for name in dir(units) if not name.startswith("_")}, **vars(module)}
        spec = eval(self.arguments[0], scope)  # noqa: S307 - a trusted expression in our own docs
        found = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
        section = nodes.container(classes=["model-equations"])
        for name, caption in _CODE_FIELDS.items():
            value = found.get(name)
            if value:
                section += self._block(caption, value.strip() if isinstance(value, str) else str(value))
        for name in ("events", "event_actions", "on_event"):
            if found.get(name):
                text = "\n".join(f"{key}: {code}" for key, code in found[name].items())
                section += self._block(name.replace("_", " "), text)
        if found.get("method"):
            section += nodes.paragraph(text=f"integration method: {found['method']}")
        if found.get("refractory") not in (None, False):
            section += nodes.paragraph(text=f"refractory: {found['refractory']}")
        if found.get("namespace"):
            text = "\n".join(f"{key} = {_format_value(value)}" for key, value in sorted(found["namespace"].items()))
            section += self._block("namespace (constants)", text)
        return [section]

    def _block(self, caption: str, text: str):
        block = nodes.literal_block(text, text, language="text")
        wrapper = nodes.container(classes=["literal-block-wrapper"], literal_block=True)
        wrapper += nodes.caption(caption, caption)
        wrapper += block
        return wrapper


def _members_only(app, what, name, obj, options, lines):
    """A model page shows a module's docstring first (``automodule`` without members),
    then its equations, then its members (``automodule`` again, with ``:members:``);
    the second call drops the module docstring so that it appears once."""
    if what != "module":
        return
    shown = app.env.temp_data.setdefault("module_docstring_shown", set())
    if options.get("members") is None:
        shown.add(name)
    elif name in shown:
        lines.clear()


def _dataclass_signature(app, what, name, obj, options, signature, return_annotation):
    """A parameter dataclass's signature with its real defaults (``C_soma=200. pF``)
    instead of ``<factory>``: its Brian2 quantities are defaults made by factories."""
    if what != "class" or not dataclasses.is_dataclass(obj):
        return None
    shown = []
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            shown.append(f"{f.name}={_format_value(f.default)}")
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
            text = _format_value(default) if not dataclasses.is_dataclass(default) else f"{type(default).__name__}()"
            shown.append(f"{f.name}={text}")
        else:
            shown.append(f.name)
    return f"({', '.join(shown)})", return_annotation


def setup(app):
    app.add_directive("model-equations", ModelEquations)
    app.connect("autodoc-process-docstring", _members_only)
    app.connect("autodoc-process-signature", _dataclass_signature)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
