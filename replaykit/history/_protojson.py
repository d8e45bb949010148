"""A fast proto3-JSON to ``History`` converter, with the official parser as the fallback.

protobuf's ``json_format.ParseDict`` is pure Python and rebuilds each message type's field
table for every message it converts: ~5 ms for a 34-event history, most of a first check's
cost. This converter caches field tables per descriptor and handles exactly what histories
contain (nested messages, repeated fields, maps, enums by name, int64 strings, base64 bytes,
``Duration`` and ``Timestamp``). Anything else raises :class:`Unsupported` and the caller
falls back to ``ParseDict``; a test asserts both give identical protos on every history in the
repository.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

__all__ = ["Unsupported", "fill_message"]

_WKT_STRING = {"google.protobuf.Duration", "google.protobuf.Timestamp"}


class Unsupported(Exception):
    """The JSON uses a construct this converter does not handle; use ``ParseDict``."""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise Unsupported("bool for an integer field")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise Unsupported(f"integer field holds {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise Unsupported("bool for a float field")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value)  # "NaN", "Infinity", "-Infinity", or a number as a string
    raise Unsupported(f"float field holds {value!r}")


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise Unsupported("bytes field is not a string")
    text = value.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Unsupported("bool field is not a boolean")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise Unsupported("string field is not a string")
    return value


_T = FieldDescriptor
_SCALAR: dict[int, Callable[[Any], Any]] = {
    _T.TYPE_INT32: _int,
    _T.TYPE_INT64: _int,
    _T.TYPE_UINT32: _int,
    _T.TYPE_UINT64: _int,
    _T.TYPE_SINT32: _int,
    _T.TYPE_SINT64: _int,
    _T.TYPE_FIXED32: _int,
    _T.TYPE_FIXED64: _int,
    _T.TYPE_SFIXED32: _int,
    _T.TYPE_SFIXED64: _int,
    _T.TYPE_DOUBLE: _float,
    _T.TYPE_FLOAT: _float,
    _T.TYPE_BOOL: _bool,
    _T.TYPE_STRING: _string,
    _T.TYPE_BYTES: _bytes,
}

_FIELDS: dict[Any, dict[str, FieldDescriptor]] = {}


def _fields(desc: Descriptor | Any) -> dict[str, FieldDescriptor]:
    table = _FIELDS.get(desc)
    if table is None:
        table = {}
        for f in desc.fields:
            table[f.json_name] = f
            table.setdefault(f.name, f)
        _FIELDS[desc] = table
    return table


def _repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)  # protobuf >= 6; older ones have .label
    if flag is None:
        return bool(getattr(field, "label", 0) == _T.LABEL_REPEATED)
    return bool(flag)


def _enum(field: FieldDescriptor, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and field.enum_type is not None:
        found = field.enum_type.values_by_name.get(value)
        if found is not None:
            return int(found.number)
    raise Unsupported(f"enum {field.full_name} value {value!r}")


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    return _converter(field)(value)


def _converter(field: FieldDescriptor) -> Callable[[Any], Any]:
    """The function turning a JSON value into ``field``'s Python value."""
    if field.type == _T.TYPE_ENUM:
        return lambda value: _enum(field, value)
    convert = _SCALAR.get(field.type)
    if convert is None:
        raise Unsupported(f"field type {field.type}")
    return convert


_DAYS_BEFORE_MONTH = (0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_days(year: int, month: int) -> int:
    if month == 2:
        return 29 if _leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    leap = _leap(year)
    y = year - 1
    days = y * 365 + y // 4 - y // 100 + y // 400 + _DAYS_BEFORE_MONTH[month] + day - 1
    if leap and month > 2:
        days += 1
    return days - 719162  # days from 0001-01-01 to 1970-01-01


_RFC3339_UTC = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z", re.ASCII)


def _fill_timestamp(msg: Any, value: Any) -> None:
    # The form every Temporal exporter writes: 2026-11-26T16:20:01.123456789Z. Anything
    # else (offsets, other widths, invalid dates) goes through protobuf's own parser.
    match = _RFC3339_UTC.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        frac = match.group(7)
        if (
            year >= 1
            and 1 <= month <= 12
            and 1 <= day <= _month_days(year, month)
            and hour < 24
            and minute < 60
            and second < 60
        ):
            msg.seconds = (
                _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
            )
            msg.nanos = int(frac.ljust(9, "0")) if frac else 0
            msg.SetInParent()
            return
    _fill_wkt_string(msg, value)


def _fill_wkt_string(msg: Any, value: Any) -> None:
    if not isinstance(value, str):
        raise Unsupported(f"{msg.DESCRIPTOR.full_name} is not a string")
    msg.FromJsonString(value)


def _fill_object(msg: Any, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise Unsupported(f"{msg.DESCRIPTOR.full_name} is not an object")
    fill_message(msg, value)


def _unsupported_wkt(msg: Any, value: Any) -> None:
    raise Unsupported(msg.DESCRIPTOR.full_name)


def _filler(desc: Descriptor | Any) -> Callable[[Any, Any], None]:
    """How to fill a message of type ``desc`` from its JSON value."""
    name = desc.full_name
    if name == "google.protobuf.Timestamp":
        return _fill_timestamp
    if name in _WKT_STRING:
        return _fill_wkt_string
    if name.startswith("google.protobuf."):
        return _unsupported_wkt
    return _fill_object


def _fill_value(msg: Message, value: Any) -> None:
    _filler(msg.DESCRIPTOR)(msg, value)


# Plan entry kinds.
_MSG, _SCALAR_FIELD, _REPEATED_MSG, _REPEATED_SCALAR, _MAP = range(5)
_Entry = tuple[int, str, Any]
_PLANS: dict[Any, dict[str, _Entry]] = {}


def _entry(field: FieldDescriptor) -> _Entry:
    message_type = field.message_type
    if message_type is not None:
        if message_type.GetOptions().map_entry:
            key_field = message_type.fields_by_name["key"]
            value_field = message_type.fields_by_name["value"]
            key = (lambda k: k) if key_field.type == _T.TYPE_STRING else _converter(key_field)
            value: Any = (
                (True, _filler(value_field.message_type))
                if value_field.message_type is not None
                else (False, _converter(value_field))
            )
            return (_MAP, field.name, (key, value))
        if _repeated(field):
            return (_REPEATED_MSG, field.name, _filler(message_type))
        return (_MSG, field.name, _filler(message_type))
    if _repeated(field):
        return (_REPEATED_SCALAR, field.name, _converter(field))
    return (_SCALAR_FIELD, field.name, _converter(field))


def _plan(desc: Descriptor | Any) -> dict[str, _Entry]:
    plan = _PLANS.get(desc)
    if plan is None:
        plan = {}
        for field in desc.fields:
            try:
                entry = _entry(field)
            except Unsupported as err:
                # Only fail when a history actually uses the field.
                reason = str(err)

                def fail(*_: Any, reason: str = reason) -> None:
                    raise Unsupported(reason)

                entry = (_MSG, field.name, fail)
            plan[field.json_name] = entry
            plan.setdefault(field.name, entry)
        _PLANS[desc] = plan
    return plan


def fill_message(msg: Message, js: Mapping[str, Any]) -> None:
    """Set ``msg`` from a proto3 JSON object (unknown keys are ignored, as ParseDict does).

    Raises:
        Unsupported: Something this converter does not handle (the caller falls back).
        ValueError: A malformed value (the caller falls back, and ParseDict words the error).
    """
    msg.SetInParent()
    plan = _plan(msg.DESCRIPTOR)
    for key, value in js.items():
        entry = plan.get(key)
        if entry is None or value is None:
            continue
        kind, name, fn = entry
        if kind == _SCALAR_FIELD:
            setattr(msg, name, fn(value))
        elif kind == _MSG:
            fn(getattr(msg, name), value)
        elif kind == _REPEATED_MSG:
            if not isinstance(value, list):
                raise Unsupported("repeated field is not a list")
            add = getattr(msg, name).add
            for item in value:
                fn(add(), item)
        elif kind == _REPEATED_SCALAR:
            if not isinstance(value, list):
                raise Unsupported("repeated field is not a list")
            getattr(msg, name).extend([fn(v) for v in value])
        else:
            if not isinstance(value, Mapping):
                raise Unsupported("map is not an object")
            target = getattr(msg, name)
            key_fn, (is_message, value_fn) = fn
            for k, v in value.items():
                mk = key_fn(k)
                if is_message:
                    value_fn(target[mk], v)
                else:
                    target[mk] = value_fn(v)
