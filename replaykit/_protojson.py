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
    _T.TYPE_INT32: _int, _T.TYPE_INT64: _int, _T.TYPE_UINT32: _int, _T.TYPE_UINT64: _int,
    _T.TYPE_SINT32: _int, _T.TYPE_SINT64: _int, _T.TYPE_FIXED32: _int, _T.TYPE_FIXED64: _int,
    _T.TYPE_SFIXED32: _int, _T.TYPE_SFIXED64: _int,
    _T.TYPE_DOUBLE: _float, _T.TYPE_FLOAT: _float,
    _T.TYPE_BOOL: _bool, _T.TYPE_STRING: _string, _T.TYPE_BYTES: _bytes,
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
    if field.type == _T.TYPE_ENUM:
        return _enum(field, value)
    convert = _SCALAR.get(field.type)
    if convert is None:
        raise Unsupported(f"field type {field.type}")
    return convert(value)


def _fill_value(msg: Message, value: Any) -> None:
    full_name = msg.DESCRIPTOR.full_name
    if full_name in _WKT_STRING:
        if not isinstance(value, str):
            raise Unsupported(f"{full_name} is not a string")
        msg.FromJsonString(value)  # type: ignore[attr-defined]
        return
    if full_name.startswith("google.protobuf."):
        raise Unsupported(full_name)
    if not isinstance(value, Mapping):
        raise Unsupported(f"{full_name} is not an object")
    fill_message(msg, value)


def fill_message(msg: Message, js: Mapping[str, Any]) -> None:
    """Set ``msg`` from a proto3 JSON object (unknown keys are ignored, as ParseDict does).

    Raises:
        Unsupported: Something this converter does not handle (the caller falls back).
        ValueError: A malformed value (the caller falls back, and ParseDict words the error).
    """
    msg.SetInParent()
    table = _fields(msg.DESCRIPTOR)
    for key, value in js.items():
        field = table.get(key)
        if field is None or value is None:
            continue
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                if not isinstance(value, Mapping):
                    raise Unsupported("map is not an object")
                target = getattr(msg, field.name)
                value_field = field.message_type.fields_by_name["value"]
                key_field = field.message_type.fields_by_name["key"]
                for k, v in value.items():
                    mk = k if key_field.type == _T.TYPE_STRING else _scalar(key_field, k)
                    if value_field.message_type is not None:
                        _fill_value(target[mk], v)
                    else:
                        target[mk] = _scalar(value_field, v)
            elif _repeated(field):
                if not isinstance(value, list):
                    raise Unsupported("repeated field is not a list")
                container = getattr(msg, field.name)
                for item in value:
                    _fill_value(container.add(), item)
            else:
                _fill_value(getattr(msg, field.name), value)
        elif _repeated(field):
            if not isinstance(value, list):
                raise Unsupported("repeated field is not a list")
            getattr(msg, field.name).extend(_scalar(field, v) for v in value)
        else:
            setattr(msg, field.name, _scalar(field, value))
