"""A faster ``__init__`` for the frozen, slotted dataclasses made on every message.

A frozen dataclass's generated ``__init__`` stores each field through
``object.__setattr__`` (its own ``__setattr__`` refuses). Storing through
the slot descriptors directly is the same operation, about a third cheaper,
which matters for the few value types created on every ``ask``. Instances
stay frozen: only ``__init__`` changes.

    >>> from dataclasses import dataclass, FrozenInstanceError
    >>> @fast_init
    ... @dataclass(frozen=True, slots=True)
    ... class Point:
    ...     x: int
    ...     y: int = 0
    >>> p = Point(1)
    >>> p, p == Point(1, 0), hash(p) == hash(Point(1, 0))
    (Point(x=1, y=0), True, True)
    >>> try:
    ...     p.x = 2
    ... except FrozenInstanceError:
    ...     print("still frozen")
    still frozen
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["fast_init"]

T = TypeVar("T")


def fast_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an ``__init__`` that fills its slots directly.

    Only for plain fields (positional-or-keyword, constant defaults, no
    ``__post_init__``); anything else is refused at import time.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init needs a frozen dataclass with slots, not {cls!r}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"fast_init does not support __post_init__ ({cls.__qualname__})")
    namespace: dict[str, Any] = {}
    args: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"fast_init supports plain fields only ({cls.__qualname__}.{f.name})")
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is dataclasses.MISSING:
            args.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(args)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - replacing the generated method
    return cls
