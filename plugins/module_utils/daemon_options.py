# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``DAEMON_OPTS`` line of the Linux services' options files.

Linux packages start the services with systemd (``systemd.py``) as
``ExecStart=... $DAEMON_OPTS``, the variable set in the unit's ``EnvironmentFile``.
systemd reads the file with its shell-like environment-file parser and then splits an
unbraced ``$DAEMON_OPTS`` into words, honouring quotes. ``format_daemon_opts`` writes a
value that survives both steps (and a shell that sources the file) for any argument
without a newline or NUL; ``parse_daemon_opts`` reads it back.
"""

import re

from ansible_collections.duplicati.fleet.plugins.module_utils import secrets
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

OPTIONS_VARIABLE = 'DAEMON_OPTS'

_WHITESPACE = ' \t\n\r'
_BARE_WORD = re.compile(r'^[A-Za-z0-9_@%+=:,./-]+$')
_ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?' + OPTIONS_VARIABLE + r'=')
_ANY_ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=')


def _check_argument(arg):
    if not isinstance(arg, str):
        raise DuplicatiError('Every daemon option must be a string, got %r' % (arg,))
    if arg == '':
        raise DuplicatiError('A daemon option must not be empty')
    if any((ord(ch) < 0x20 and ch != '\t') or ord(ch) == 0x7f for ch in arg):
        raise DuplicatiError('The daemon option %r contains a line break or another control character, '
                             'which an options file cannot hold' % arg[:40])


def _quote_word(arg):
    """One argument as a word of systemd's ``$VAR`` splitting (quotes honoured).

    systemd treats a backslash as an escape even inside single quotes, so a word with a
    backslash or a single quote goes in double quotes with ``\\`` and ``\"`` escaped.
    """
    if _BARE_WORD.match(arg):
        return arg
    if "'" not in arg and '\\' not in arg:
        return "'" + arg + "'"
    return '"' + arg.replace('\\', '\\\\').replace('"', '\\"') + '"'


def _escape_double_quoted(text):
    """Text for inside ``"..."`` of an environment file (and of a POSIX shell)."""
    out = []
    for ch in text:
        if ch in '\\"$`':
            out.append('\\')
        out.append(ch)
    return ''.join(out)


def format_daemon_opts(args):
    """The line ``DAEMON_OPTS="..."`` that hands exactly ``args`` to the service binary."""
    words = []
    for arg in args:
        _check_argument(arg)
        words.append(_quote_word(arg))
    return '%s="%s"' % (OPTIONS_VARIABLE, _escape_double_quoted(' '.join(words)))


def _single_quoted(text, i):
    """The text between the single quote at ``text[i]`` and the next one, and the index after that."""
    end = text.find("'", i + 1)
    if end < 0:
        raise DuplicatiError('Unbalanced single quote in the %s value' % OPTIONS_VARIABLE)
    return text[i + 1:end], end + 1


def _double_quoted(text, i, escapable=None):
    """The text between the double quote at ``text[i]`` and its closing one, unescaped, and the index after that.

    A backslash takes the next character as it is: any character, or only one of ``escapable`` when given
    (before any other the backslash is kept)."""
    out = []
    i += 1
    while True:
        if i >= len(text):
            raise DuplicatiError('Unbalanced double quote in the %s value' % OPTIONS_VARIABLE)
        ch = text[i]
        if ch == '"':
            return ''.join(out), i + 1
        if ch == '\\' and i + 1 < len(text) and (escapable is None or text[i + 1] in escapable):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1


def _unquote_assignment_value(raw):
    """The value of ``VAR=raw`` as systemd's environment-file parser reads it."""
    out = []
    i = 0
    raw = raw.strip()
    while i < len(raw):
        ch = raw[i]
        if ch == "'":
            part, i = _single_quoted(raw, i)
            out.append(part)
        elif ch == '"':
            part, i = _double_quoted(raw, i, '\\"$`')
            out.append(part)
        elif ch == '\\' and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
        elif ch == '#' or ch in _WHITESPACE:
            break
        else:
            out.append(ch)
            i += 1
    return ''.join(out)


def split_words(value):
    """Split a ``$VAR`` value into arguments like systemd does (quotes honoured)."""
    words = []
    current = []
    in_word = False
    i = 0
    while i < len(value):
        ch = value[i]
        if ch in _WHITESPACE:
            if in_word:
                words.append(''.join(current))
                current = []
                in_word = False
            i += 1
            continue
        in_word = True
        if ch == "'":
            part, i = _single_quoted(value, i)
            current.append(part)
        elif ch == '"':
            part, i = _double_quoted(value, i)
            current.append(part)
        elif ch == '\\' and i + 1 < len(value):
            current.append(value[i + 1])
            i += 2
        else:
            current.append(ch)
            i += 1
    if in_word:
        words.append(''.join(current))
    return words


def parse_daemon_opts(text):
    """The argument list of the last ``DAEMON_OPTS=`` line of an options file, or None if absent."""
    found = None
    for line in (text or '').split('\n'):
        if _ASSIGNMENT.match(line):
            raw = line.split('=', 1)[1]
            found = split_words(_unquote_assignment_value(raw))
    return found


def parse_environment_file(text):
    """``{name: value}`` of every assignment of an options file (the last one of a name wins): the environment
    systemd gives the service from its ``EnvironmentFile``."""
    values = {}
    for line in (text or '').split('\n'):
        match = _ANY_ASSIGNMENT.match(line)
        if match:
            try:
                values[match.group(1)] = _unquote_assignment_value(line[match.end():])
            except DuplicatiError:
                continue
    return values


def render_options_file(old_text, args):
    """The options file with ``DAEMON_OPTS`` set to ``args``; every other line is kept."""
    new_line = format_daemon_opts(args)
    lines = (old_text or '').rstrip('\n').split('\n') if old_text else []
    out = []
    replaced = False
    for line in lines:
        if _ASSIGNMENT.match(line):
            if not replaced:
                out.append(new_line)
                replaced = True
            continue
        out.append(line)
    if not replaced:
        out.append(new_line)
    return '\n'.join(out) + '\n'


def options_file_holds(text, args):
    """Whether an options file ``text`` already holds exactly ``DAEMON_OPTS`` ``args``, so that writing them
    (``render_options_file``) would leave it as it is."""
    try:
        return text is not None and parse_daemon_opts(text) == list(args) and render_options_file(text, args) == text
    except DuplicatiError:
        return False


def masked_options_text(text):
    """The options file text for a diff, the values of secret options masked."""
    if text is None:
        return ''
    parsed = parse_daemon_opts(text)
    if parsed and secrets.secret_argument_names(parsed):
        return render_options_file(text, secrets.mask_arguments(parsed))
    return text
