"""The JSON codec: how casty turns values into stored and transmitted bytes.

Values are encoded to plain JSON with small tagged objects for the types JSON
lacks. Dataclasses and enums are stored under a *type name* and a *schema
version*, never as pickles, so a journal can be read by another process, by
another version of the code, or by the ``casty-journal`` tool.

Supported: ``None``, ``bool``, ``int``, ``float`` (including NaN/inf), ``str``,
``bytes``, ``list``, ``tuple``, ``deque``, ``set``, ``frozenset``, ``dict`` (any encodable
keys), ``datetime``/``date``/``time``/``timedelta``, ``UUID``, ``Decimal``,
enums and dataclasses whose fields are themselves supported.

    >>> from dataclasses import dataclass
    >>> codec = Codec()
    >>> @dataclass(frozen=True)
    ... class User:
    ...     name: str
    ...     age: int
    >>> _ = codec.register(User, name="example.User")
    >>> codec.dumps(User("Alice", 30))
    '{"$t":"example.User","name":"Alice","age":30}'
    >>> codec.loads(codec.dumps({"tags": {"a"}, 1: (2, 3)})) == {"tags": {"a"}, 1: (2, 3)}
    True

Renaming a class keeps old journals readable when the class is registered
under a stable name (``register(cls, name=...)``) or lists the old name in
``aliases``. Changing a class's shape bumps its ``version`` and registers an
*upcaster* per old version that rewrites the old fields into the new ones::

    >>> @dataclass(frozen=True)
    ... class UserV2:
    ...     name: str
    ...     age: int
    ...     email: str
    >>> _ = codec.register(UserV2, name="example.User", version=2,
    ...                    upcasters={1: lambda f: {**f, "email": ""}})
    >>> codec.loads('{"$t":"example.User","name":"Bob","age":4}')
    UserV2(name='Bob', age=4, email='')
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
import importlib
import json
import math
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from casty.errors import SerializationError

__all__ = [
    "Codec",
    "Upcaster",
    "default_codec",
    "register",
    "serializable",
]

T = TypeVar("T")
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Rewrites the fields of version ``n`` of a type into those of version ``n + 1``."""

_JSONScalar = (str, int, float, bool, type(None))


@dataclasses.dataclass(slots=True)
class _TypeEntry:
    cls: type
    name: str
    version: int
    upcasters: dict[int, Upcaster]
    field_names: tuple[str, ...]
    is_enum: bool


class Codec:
    """Encodes values to JSON-compatible data and back, by registered type names.

    A ``Codec`` is a registry: dataclasses and enums registered on it are
    encoded under their registered name. Unregistered dataclasses and enums are
    accepted too, under their ``module.QualifiedName`` (decoded by importing
    that module), which breaks if the class moves: register anything you
    persist for the long term.
    """

    def __init__(self) -> None:
        self._by_type: dict[type, _TypeEntry] = {}
        self._by_name: dict[str, _TypeEntry] = {}

    # -- registry -------------------------------------------------------
    def register(
        self,
        cls: type[T],
        *,
        name: str | None = None,
        version: int = 1,
        aliases: tuple[str, ...] = (),
        upcasters: Mapping[int, Upcaster] | None = None,
    ) -> type[T]:
        """Register a dataclass or enum under a stable ``name`` and ``version``.

        ``upcasters[n]`` turns the fields stored at version ``n`` into those of
        version ``n + 1``; every version below ``version`` needs one. Returns
        ``cls`` so it can be used as a decorator helper.
        """
        is_enum = isinstance(cls, type) and issubclass(cls, enum.Enum)
        if not is_enum and not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise SerializationError(f"only dataclasses and enums can be registered, not {cls!r}")
        if not isinstance(version, int) or version < 1:
            raise SerializationError(f"version must be a positive int, got {version!r}")
        ups = dict(upcasters or {})
        missing = [v for v in range(1, version) if v not in ups]
        if missing:
            raise SerializationError(
                f"{cls.__qualname__} version {version} needs an upcaster from each older version: "
                f"missing {missing} (upcasters={{n: fields_n -> fields_n+1}})"
            )
        stray = sorted(k for k in ups if not isinstance(k, int) or not 1 <= k < version)
        if stray:
            raise SerializationError(
                f"{cls.__qualname__} version {version}: upcasters are keyed by the old versions "
                f"1..{version - 1}, got {stray}"
            )
        if is_enum and version != 1:
            raise SerializationError(f"enums are not versioned: register {cls.__qualname__} at version 1")
        for up_version, up in ups.items():
            if not callable(up):
                raise SerializationError(f"the upcaster from version {up_version} is not callable: {up!r}")
        type_name = name or _default_name(cls)
        if not isinstance(type_name, str) or not type_name or type_name.startswith("$"):
            raise SerializationError(
                f"a type name must be a non-empty str not starting with '$', got {name!r}"
            )
        fields = () if is_enum else tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        entry = _TypeEntry(cls, type_name, version, ups, fields, is_enum)
        # Names that resolved to this class before (its default name, cached on
        # first use, or an earlier registration) now decode with the new entry too.
        for known, old in list(self._by_name.items()):
            if old.cls is cls:
                self._by_name[known] = entry
        self._by_type[cls] = entry
        self._by_name[type_name] = entry
        for alias in aliases:
            self._by_name[alias] = entry
        return cls

    def type_name(self, value: Any) -> str:
        """The name a value is stored under: registered name or builtin type name."""
        entry = self._entry_for(type(value))
        return entry.name if entry is not None else type(value).__name__

    def type_version(self, value: Any) -> int:
        """The schema version a value is stored at (1 for unversioned values)."""
        entry = self._entry_for(type(value))
        return entry.version if entry is not None else 1

    def _entry_for(self, cls: type) -> _TypeEntry | None:
        entry = self._by_type.get(cls)
        if entry is not None:
            return entry
        if cls in _UNTYPED:
            return None
        if dataclasses.is_dataclass(cls) or issubclass(cls, enum.Enum):
            entry = _TypeEntry(
                cls,
                _default_name(cls),
                1,
                {},
                () if issubclass(cls, enum.Enum) else tuple(f.name for f in dataclasses.fields(cls)),
                issubclass(cls, enum.Enum),
            )
            self._by_type[cls] = entry
            self._by_name.setdefault(entry.name, entry)
            return entry
        return None

    def _entry_named(self, name: str) -> _TypeEntry:
        entry = self._by_name.get(name)
        if entry is not None:
            return entry
        cls: Any = None
        # A default name is "module.Qual.Name": try successively shorter module paths.
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module_name, qualname = ".".join(parts[:cut]), parts[cut:]
            try:
                obj: Any = importlib.import_module(module_name)
            except ImportError:
                continue
            try:
                for part in qualname:
                    obj = getattr(obj, part)
            except AttributeError:
                continue
            cls = obj
            break
        if cls is None or not isinstance(cls, type):
            raise SerializationError(
                f"unknown type name {name!r}: register the class with that name "
                f"(casty.persistence.codec.register(cls, name={name!r})) or list it in aliases"
            )
        found = self._entry_for(cls)
        if found is None:
            raise SerializationError(f"type name {name!r} is not a dataclass or enum")
        self._by_name[name] = found
        return found

    # -- encoding ---------------------------------------------------------
    def encode(self, value: Any) -> Any:
        """Encode ``value`` to JSON-compatible data; raises :class:`SerializationError`."""
        try:
            return self._enc(value, "value")
        except RecursionError:
            raise _too_deep() from None

    def dumps(self, value: Any) -> str:
        """Encode ``value`` to a compact JSON string."""
        try:
            return _JSON.encode(self._enc(value, "value"))
        except RecursionError:
            raise _too_deep() from None

    def dumps_typed(self, value: Any) -> tuple[str, int, str]:
        """``(type_name, type_version, dumps(value))`` in one pass: what a journal row stores.

        >>> Codec().dumps_typed((1, "a"))
        ('tuple', 1, '{"$tuple":[1,"a"]}')
        """
        t = type(value)
        entry = self._by_type.get(t)
        if entry is None:
            entry = self._entry_for(t)
        try:
            payload = _JSON.encode(self._enc(value, "value"))
        except RecursionError:
            raise _too_deep() from None
        if entry is None:
            return t.__name__, 1, payload
        return entry.name, entry.version, payload

    def loads(self, text: str | bytes) -> Any:
        """Decode a JSON string made by :meth:`dumps`."""
        data: Any
        try:
            # The C scanner directly: json.loads adds two regex matches and three
            # Python calls per value, a real cost when a journal replays 100k events.
            if type(text) is not str:
                raise ValueError
            data, end = _SCAN(text, 0)
            if end != len(text):
                raise ValueError
        except (ValueError, StopIteration):
            try:  # whitespace around the value, bytes, or an error to report
                data = json.loads(text)
            except (ValueError, UnicodeDecodeError) as exc:
                raise SerializationError(f"not valid JSON: {exc}") from exc
        except RecursionError:
            raise SerializationError("stored JSON is nested too deeply to decode") from None
        try:
            return self.decode(data)
        except RecursionError:
            raise SerializationError("stored value is nested too deeply to decode") from None

    def check(self, value: Any) -> None:
        """Raise :class:`SerializationError` if ``value`` cannot be encoded."""
        if type(value) not in _FAST_SCALARS:
            self.encode(value)

    def _enc(self, value: Any, where: str) -> Any:
        t = type(value)
        if t is str or t is bool or value is None:
            return value
        if t is int:
            # Beyond ~3,600 digits int<->str conversion is refused by Python (and
            # slow): such ints travel as hexadecimal, which has no such limit.
            return value if -_BIG_INT < value < _BIG_INT else {"$int": format(value, "x")}
        if t is float:
            if math.isfinite(value):
                return value
            return {"$float": repr(value)}
        if t is list:
            return [self._enc(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if t is dict:
            if all(type(k) is str and not k.startswith("$") for k in value):
                return {k: self._enc(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {
                "$map": [
                    [self._enc(k, f"{where} key"), self._enc(v, f"{where}[{k!r}]")] for k, v in value.items()
                ]
            }
        if t is deque:
            return {"$deque": [self._enc(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if t is tuple:
            return {"$tuple": [self._enc(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if t is set or t is frozenset:
            items = [self._enc(v, f"{where} item") for v in value]
            return {"$set" if t is set else "$frozenset": items}
        if t is bytes or t is bytearray:
            return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
        if t is _dt.datetime:
            return {"$datetime": value.isoformat()}
        if t is _dt.date:
            return {"$date": value.isoformat()}
        if t is _dt.time:
            return {"$time": value.isoformat()}
        if t is _dt.timedelta:
            return {"$timedelta": [value.days, value.seconds, value.microseconds]}
        if t is uuid.UUID:
            return {"$uuid": str(value)}
        if t is Decimal:
            return {"$decimal": str(value)}
        entry = self._entry_for(t) if isinstance(t, type) else None
        if entry is not None:
            if entry.is_enum:
                out_enum: dict[str, Any] = {"$enum": entry.name, "value": self._enc(value.value, where)}
                return out_enum
            out: dict[str, Any] = {"$t": entry.name}
            if entry.version != 1:
                out["$v"] = entry.version
            for name in entry.field_names:
                out[name] = self._enc(getattr(value, name), f"{where}.{name}")
            return out
        raise SerializationError(
            f"cannot serialize {where} of type {t.__module__}.{t.__qualname__}: "
            "use primitives, containers, datetime/UUID/Decimal, enums or dataclasses"
        )

    # -- decoding ---------------------------------------------------------
    def decode(self, data: Any) -> Any:
        """Decode data made by :meth:`encode`; raises :class:`SerializationError`."""
        t = type(data)
        if t is str or t is int or t is bool or t is float or data is None:
            return data
        if t is list:
            return [self.decode(v) for v in data]
        if t is not dict:
            raise SerializationError(f"unexpected encoded value of type {t.__name__}")
        if "$t" in data:
            return self._decode_object(data)
        if len(data) == 1 or "$enum" in data:
            key = next(iter(data))
            decoder = _TAG_DECODERS.get(key)
            if decoder is not None:
                try:
                    return decoder(self, data)
                except SerializationError:
                    raise
                except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
                    raise SerializationError(f"malformed {key} value: {exc}") from exc
        return {k: self.decode(v) for k, v in data.items()}

    def _decode_object(self, data: dict[str, Any]) -> Any:
        name = data["$t"]
        if type(name) is not str:
            raise SerializationError(f"malformed type tag {name!r}")
        entry = self._by_name.get(name) or self._entry_named(name)
        version = data.get("$v", 1)
        if type(version) is not int or version < 1:
            raise SerializationError(f"malformed version {version!r} of {name}")
        decode, scalars = self.decode, _PLAIN_JSON
        fields = {
            k: v if type(v) in scalars else decode(v) for k, v in data.items() if k != "$t" and k != "$v"
        }
        if version == entry.version:
            try:
                return entry.cls(**fields)
            except TypeError as exc:
                raise SerializationError(f"cannot rebuild {name} from stored fields: {exc}") from exc
        if version > entry.version:
            raise SerializationError(
                f"{name} was stored at version {version}, newer than this code's {entry.version}: "
                "read it with the newer code"
            )
        while version < entry.version:
            up = entry.upcasters.get(version)
            if up is None:  # pragma: no cover - register() requires every upcaster
                raise SerializationError(
                    f"{name} stored at version {version} has no upcaster to version {version + 1}"
                )
            try:
                fields = up(fields)
            except Exception as exc:
                raise SerializationError(
                    f"the upcaster of {name} from version {version} to {version + 1} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(fields, dict):
                raise SerializationError(
                    f"the upcaster of {name} from version {version} returned "
                    f"{type(fields).__name__}, not a dict of fields"
                )
            version += 1
        try:
            return entry.cls(**fields)
        except TypeError as exc:
            raise SerializationError(f"cannot rebuild {name} from stored fields: {exc}") from exc


_FAST_SCALARS = frozenset({str, bool, float, type(None)})
_PLAIN_JSON = frozenset({str, int, bool, float, type(None)})
_BIG_INT = 1 << 12000


def _too_deep() -> SerializationError:
    return SerializationError("value is nested too deeply to serialize (or refers to itself)")


_UNTYPED = frozenset(
    {str, int, bool, float, type(None), list, dict, tuple, set, frozenset, bytes, bytearray, deque}
    | {_dt.datetime, _dt.date, _dt.time, _dt.timedelta, uuid.UUID, Decimal}
)
"""Types that are never registered (no name or version of their own)."""
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The C JSON scanner: ``(value, end) = _SCAN(text, 0)``."""
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""One shared encoder: ``json.dumps`` with options would build a new one per call."""


def _dec_enum(codec: Codec, data: dict[str, Any]) -> Any:
    entry = codec._entry_named(data["$enum"])
    return entry.cls(codec.decode(data["value"]))


_TAG_DECODERS: dict[str, Callable[[Codec, dict[str, Any]], Any]] = {
    "$float": lambda c, d: float(d["$float"]),
    "$int": lambda c, d: int(d["$int"], 16),
    "$map": lambda c, d: {c.decode(k): c.decode(v) for k, v in d["$map"]},
    "$tuple": lambda c, d: tuple(c.decode(v) for v in d["$tuple"]),
    "$deque": lambda c, d: deque(c.decode(v) for v in d["$deque"]),
    "$set": lambda c, d: {c.decode(v) for v in d["$set"]},
    "$frozenset": lambda c, d: frozenset(c.decode(v) for v in d["$frozenset"]),
    "$bytes": lambda c, d: base64.b64decode(d["$bytes"], validate=True),
    "$datetime": lambda c, d: _dt.datetime.fromisoformat(d["$datetime"]),
    "$date": lambda c, d: _dt.date.fromisoformat(d["$date"]),
    "$time": lambda c, d: _dt.time.fromisoformat(d["$time"]),
    "$timedelta": lambda c, d: _dt.timedelta(*d["$timedelta"]),
    "$uuid": lambda c, d: uuid.UUID(d["$uuid"]),
    "$decimal": lambda c, d: Decimal(d["$decimal"]),
    "$enum": _dec_enum,
}


def _default_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


default_codec = Codec()
"""The process-wide codec used by journals unless they are given another."""


def register(
    cls: type[T],
    *,
    name: str | None = None,
    version: int = 1,
    aliases: tuple[str, ...] = (),
    upcasters: Mapping[int, Upcaster] | None = None,
) -> type[T]:
    """Register ``cls`` on the :data:`default_codec` (see :meth:`Codec.register`)."""
    return default_codec.register(cls, name=name, version=version, aliases=aliases, upcasters=upcasters)


def serializable(
    name: str | None = None,
    *,
    version: int = 1,
    aliases: tuple[str, ...] = (),
    upcasters: Mapping[int, Upcaster] | None = None,
) -> Callable[[type[T]], type[T]]:
    """Class decorator: register a dataclass or enum on the :data:`default_codec`.

    >>> from dataclasses import dataclass
    >>> @serializable("docs.Point")
    ... @dataclass(frozen=True)
    ... class Point:
    ...     x: int
    ...     y: int
    >>> default_codec.loads(default_codec.dumps(Point(1, 2)))
    Point(x=1, y=2)
    """

    def wrap(cls: type[T]) -> type[T]:
        return default_codec.register(cls, name=name, version=version, aliases=aliases, upcasters=upcasters)

    return wrap
