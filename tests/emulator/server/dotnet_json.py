# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON text exactly as .NET's System.Text.Json writes it with its default encoder.

The real server serialises every HTTP answer, the stored ``jwt-config`` /
``pbkdf-config`` values and exported configurations with System.Text.Json
(``Duplicati/WebserverCore/DuplicatiWebserver.cs``, ``BackupGet.EncodeDataForExport``). Its default ``JavaScriptEncoder`` escapes more than Python's ``json``:
the HTML-sensitive characters ``< > & ' + `` and the backtick, every non-ASCII
character, all as ``\\uXXXX`` with UPPERCASE hex. A base64 value such as a salt
therefore appears with ``\\u002B`` for ``+``. Compact output has no spaces; indented
output uses two spaces and ``"Key": value``.

Dates are ``datetime`` objects (naive = UTC) and are written like .NET ``DateTime``
with ``Kind=Utc``: ``2026-08-22T10:15:30Z``, with up to 7 fractional digits when the
value has them.
"""

import datetime

_SHORT = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t'}
_HTML = set('<>&\'+`')


def _escape(text):
    out = []
    for char in text:
        code = ord(char)
        if char in _SHORT:
            out.append(_SHORT[char])
        elif code < 0x20 or code > 0x7E or char in _HTML:
            if code > 0xFFFF:
                code -= 0x10000
                out.append('\\u%04X\\u%04X' % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append('\\u%04X' % code)
        else:
            out.append(char)
    return '"' + ''.join(out) + '"'


def format_datetime(value):
    """A UTC ``datetime`` as System.Text.Json writes a UTC DateTime."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    text = value.strftime('%Y-%m-%dT%H:%M:%S')
    if value.year < 1000:
        text = '%04d%s' % (value.year, text[text.index('-'):])
    if value.microsecond:
        text += ('.%06d0' % value.microsecond).rstrip('0')
    return text + 'Z'


def _encode(value, indent, level):
    if value is None:
        return 'null'
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, datetime.datetime):
        return '"%s"' % format_datetime(value)
    if isinstance(value, dict):
        if not value:
            return '{}'
        items = [(_escape(str(k)), _encode(v, indent, level + 1)) for k, v in value.items()]
        if not indent:
            return '{' + ','.join('%s:%s' % item for item in items) + '}'
        pad = '  ' * (level + 1)
        return '{\n' + ',\n'.join('%s%s: %s' % (pad, k, v) for k, v in items) + '\n' + '  ' * level + '}'
    if isinstance(value, (list, tuple)):
        if not value:
            return '[]'
        items = [_encode(v, indent, level + 1) for v in value]
        if not indent:
            return '[' + ','.join(items) + ']'
        pad = '  ' * (level + 1)
        return '[\n' + ',\n'.join(pad + item for item in items) + '\n' + '  ' * level + ']'
    raise TypeError('cannot serialise %r' % (value,))


def dumps(value, indent=False):
    """Serialise ``value`` (dicts keep their insertion order, as .NET keeps declaration order)."""
    return _encode(value, indent, 0)


def dumpb(value, indent=False):
    return dumps(value, indent).encode('utf-8')
