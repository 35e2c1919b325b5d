"""Versioned data tables (YAML files beside the code that reads them) and the loader that checks them.

Used by the synthetic corpus (stages/core/data/synthetic_tables/) and the embedded judge's lexicons
(stages/core/judges/embedded/lexicons/). ``load(package, name, shape)`` reads one file of a package
and checks it against a shape written beside its use, so a missing or malformed table fails at
import with the file and key it is in, never later as an odd sentence, a silent score change or a
``KeyError`` mid-run. Shapes:

    str              a string (YAML 1.1 reads unquoted yes / no / on / 3 as bool or int: rejected)
    float, int       a number (float: an int is read as a float; a bool is neither)
    OneOf(values)    a string from ``values``
    [shape]          a non-empty list, returned as a tuple; ``Seq(shape, n)`` for at least n items
    Fields(a, b)     a mapping with exactly the string keys a, b, returned as the tuple (a, b)
    {key: shape}     a mapping with exactly these keys; ``OptionalKey(shape)`` for one that may be
                     left out; ``{str: shape}`` or ``{OneOf(keys): shape}`` for any keys (of that kind)
Mappings keep the file's order, and a key written twice is an error rather than the last one winning.
"""

from __future__ import annotations

from importlib import resources

import yaml


class TableError(ValueError):
    """A table file that cannot be used; the message names the file and key."""


class OneOf:
    def __init__(self, values):
        self.values = tuple(values)


class Seq:
    def __init__(self, item, at_least: int = 1):
        self.item, self.at_least = item, at_least


class Fields:
    def __init__(self, *keys: str):
        self.keys = keys


class OptionalKey:
    def __init__(self, shape):
        self.shape = shape


class _UniqueKeys(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser: ~10x faster, same data
    """safe_load, except that a repeated key raises (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load(package: str, name: str, shape: dict) -> dict:
    """The file ``name`` of the package ``package``, checked against ``shape``; raises TableError."""
    try:
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    except OSError as e:
        raise TableError(f"{name}: {e}") from None
    return parse(text, shape, name)


def parse(text: str, shape: dict, name: str) -> dict:
    """YAML ``text`` (from file ``name``, for messages) checked against ``shape``; raises TableError."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeys)  # a safe loader: plain data, no Python objects
    except yaml.YAMLError as e:
        raise TableError(f"{name}: {e}") from None
    return _check(raw, shape, name, "")


def _check(value, shape, name: str, key: str):
    def fail(message: str):
        raise TableError(f"{name}: key '{key or '<root>'}': {message}")

    def at(k) -> str:
        return f"{key}.{k}" if key else str(k)

    if shape is str:
        if not isinstance(value, str):
            quote = "; quote it" if value is None or isinstance(value, (bool, int, float)) else ""
            fail(f"must be a string, got {value!r}{quote}")
        return value
    if shape in (float, int):
        if isinstance(value, bool) or not isinstance(value, (int, float) if shape is float else int):
            fail(f"must be {'a number' if shape is float else 'an integer'}, got {value!r}")
        return shape(value)
    if isinstance(shape, OneOf):
        if value not in shape.values:
            fail(f"must be one of {list(shape.values)}, got {value!r}")
        return value
    if isinstance(shape, list):
        shape = Seq(shape[0])
    if isinstance(shape, Seq):
        if not isinstance(value, list) or len(value) < shape.at_least:
            fail(f"must be a list of at least {shape.at_least}, got {value!r}")
        return tuple(_check(v, shape.item, name, f"{key}[{i}]") for i, v in enumerate(value))
    if not isinstance(value, dict):
        fail(f"must be a mapping, got {value!r}")
    if isinstance(shape, Fields):
        if set(value) != set(shape.keys):
            fail(f"must have exactly the keys {list(shape.keys)}, got {list(value)}")
        return tuple(_check(value[k], str, name, at(k)) for k in shape.keys)
    first = next(iter(shape))
    if first is str or isinstance(first, OneOf):  # any keys of one kind, each holding the same shape
        if not value:
            fail("must not be empty")
        return {_check(k, first, name, at(k)): _check(v, shape[first], name, at(k)) for k, v in value.items()}
    missing = [k for k, s in shape.items() if k not in value and not isinstance(s, OptionalKey)]
    unknown = [k for k in value if k not in shape]
    if missing or unknown:
        fail(f"missing keys {missing}, unknown keys {unknown}; expected {list(shape)}")
    unwrap = {k: s.shape if isinstance(s, OptionalKey) else s for k, s in shape.items()}
    return {k: _check(v, unwrap[k], name, at(k)) for k, v in value.items()}
