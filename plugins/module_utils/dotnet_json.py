# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON text exactly as .NET System.Text.Json writes it.

Duplicati writes its own files (agent.json, ServerUtil's settings.json) with
System.Text.Json and the default JavaScriptEncoder.  To leave a file byte-for-byte
as Duplicati itself would have left it, we write the same text:

* only printable ASCII is written as is; ``"``, ``&``, ``'``, ``+``, ``<``, ``>``,
  backtick and every non-ASCII or control character become ``\\uXXXX`` (upper-case
  hex, UTF-16 code units), except ``\\b \\f \\n \\r \\t`` and ``\\\\``;
* compact form has no spaces at all;
* indented form (``WriteIndented = true``) uses two spaces per level, ``": "``
  between name and value, the platform newline, ``[]``/``{}`` for empty
  containers, and no newline at the end of the document.

Values that .NET formats itself rather than as text (DateTimeOffset) are passed as
``RawString`` and written without escaping.
"""


import json

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

# Characters the default JavaScriptEncoder refuses to write literally.
_HTML_SENSITIVE = frozenset('"&\'+<>`')
_SHORT_ESCAPES = {'\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t'}


def json_type_name(value):
    """What a parsed JSON value is, for error messages: 'an object', 'an array', 'null', ..."""
    if isinstance(value, dict):
        return 'an object'
    if isinstance(value, list):
        return 'an array'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, (int, float)):
        return 'a number'
    if value is None:
        return 'null'
    return 'a string'


class RawString(str):
    """A string System.Text.Json writes without escaping: numbers and dates it formats itself
    (a DateTimeOffset keeps its literal ``+`` in ``+01:00``)."""


def _escape_string(value):
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif 0x20 <= code < 0x7f and ch not in _HTML_SENSITIVE:
            out.append(ch)
        elif code > 0xffff:
            code -= 0x10000
            out.append('\\u%04X\\u%04X' % (0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff)))
        else:
            out.append('\\u%04X' % code)
    out.append('"')
    return ''.join(out)


def _scalar(value):
    if value is None:
        return 'null'
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, RawString):
        return '"' + value + '"'
    if isinstance(value, str):
        return _escape_string(value)
    raise TypeError('cannot write %r as JSON' % (value,))


def _write(value, indent, newline, level, out):
    pad = '  ' * (level + 1) if indent else ''
    end_pad = '  ' * level if indent else ''
    sep = ',' + newline if indent else ','
    if isinstance(value, dict):
        if not value:
            out.append('{}')
            return
        out.append('{' + (newline if indent else ''))
        first = True
        for key, item in value.items():
            if not first:
                out.append(sep)
            first = False
            out.append(pad + _escape_string(key) + (': ' if indent else ':'))
            _write(item, indent, newline, level + 1, out)
        out.append((newline if indent else '') + end_pad + '}')
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append('[]')
            return
        out.append('[' + (newline if indent else ''))
        first = True
        for item in value:
            if not first:
                out.append(sep)
            first = False
            out.append(pad)
            _write(item, indent, newline, level + 1, out)
        out.append((newline if indent else '') + end_pad + ']')
    else:
        out.append(_scalar(value))


def dumps(value, indent=False, newline='\n'):
    """Serialise ``value`` (dicts keep their order) like System.Text.Json.

    ``indent=True`` is ``WriteIndented = true``; ``newline`` is the platform
    newline of the writing .NET process (``'\\r\\n'`` on Windows).
    """
    out = []
    _write(value, indent, newline, 0, out)
    return ''.join(out)


def loads(text, source, object_pairs_hook=None):
    """Parse JSON text a Duplicati program wrote (bytes or text, with or without a UTF-8 BOM).

    Bad JSON raises ``DuplicatiError`` naming ``source``.
    """
    if isinstance(text, bytes):
        text = text.decode('utf-8')
    if text.startswith(u'\ufeff'):
        text = text[1:]
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except ValueError as e:
        raise DuplicatiError('%s is not valid JSON: %s' % (source, e), url=source)
