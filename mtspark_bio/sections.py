"""Configurations in sections: one frozen dataclass per concern, every field name unique.

A network's configuration (``CircuitConfig``, ``AgentConfig``) holds its sizes, one
section per concern (``input``, ``hidden``, ``run``) and its readout's learning rule
(an object from ``models/``, with its own parameters). Because every field name is
unique across the sections, an override may name a field flat, ``{"n_hidden": 400}``,
or by its section, ``{"hidden": {"n_hidden": 400}}``; the stored form (``asdict``) is
always by section.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar


class Sectioned:
    """Mixin for a frozen dataclass configuration with sections (:data:`SECTIONS`:
    field name -> section class). ``FLAT_RULE_CLASSES``: rule classes whose parameters
    may also be named flat (the rule's field is ``readout``)."""

    SECTIONS: ClassVar[dict[str, type]] = {}
    FLAT_RULE_CLASSES: ClassVar[tuple[type, ...]] = ()
    WHAT: ClassVar[str] = "configuration"

    @classmethod
    def section_of(cls) -> dict[str, str]:
        """The section of each field the sections declare."""
        owner = {f.name: name for name, section in cls.SECTIONS.items() for f in dataclasses.fields(section)}
        assert len(owner) == sum(len(dataclasses.fields(s)) for s in cls.SECTIONS.values()), "a field name is repeated"
        return owner

    def _resolve_sections(self):
        """Sections given in their stored (dict) form become their dataclasses."""
        for name, section in self.SECTIONS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                known = {f.name for f in dataclasses.fields(section)}
                unknown = sorted(set(value) - known)
                if unknown:
                    raise ValueError(f"the {self.WHAT}'s {name} section has no fields {unknown}; "
                                     f"known: {sorted(known)}")
                object.__setattr__(self, name, section(**value))

    @classmethod
    def gather_sections(cls, values: dict) -> dict:
        """``values`` with the fields named flat moved into their sections."""
        values = dict(values)
        sections = {name: dict(values.pop(name, None) or {}) for name in cls.SECTIONS}
        owner = cls.section_of()
        for name in list(values):
            if name in owner:
                sections[owner[name]][name] = values.pop(name)
        return {**values, **sections}

    @classmethod
    def rules_declaring(cls, name: str) -> list[type]:
        """The rule classes (``FLAT_RULE_CLASSES``) that have a parameter ``name``."""
        return [rule for rule in cls.FLAT_RULE_CLASSES
                if name != "rule" and name in {f.name for f in dataclasses.fields(rule)}]

    @classmethod
    def field(cls, name: str) -> tuple[type, dataclasses.Field]:
        """(the class that declares it, the field) of a field named flat; KeyError if none."""
        owner = cls.section_of()
        if name in owner:
            declaring = cls.SECTIONS[owner[name]]
        else:
            declaring = next(iter(cls.rules_declaring(name)), cls)
        fields = {f.name: f for f in dataclasses.fields(declaring)}
        if name in cls.SECTIONS or name not in fields:
            raise KeyError(name)
        return declaring, fields[name]

    @classmethod
    def field_names(cls) -> list[str]:
        rule_fields = {f.name for rule in cls.FLAT_RULE_CLASSES for f in dataclasses.fields(rule)} - {"rule"}
        own = {f.name for f in dataclasses.fields(cls)} - set(cls.SECTIONS)
        return sorted(own | set(cls.section_of()) | rule_fields)
