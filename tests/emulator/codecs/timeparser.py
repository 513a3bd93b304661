# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``Duplicati.Library.Utility.Timeparser.ParseTimeSpan`` (without negation), in seconds.

* empty or null text is 0;
* text ``long.TryParse`` accepts (``NumberStyles.Integer``: blanks around, a leading sign) is a
  number of seconds;
* otherwise the loop over ``IndexOfAny("smhDWMY")``: the text before each unit letter, trimmed,
  must pass ``int.TryParse`` (else "... is not a valid integer"); ``M`` is 30 days and ``Y``
  365 days; the loop stops at a letter in the first place, and what is left after the last
  unit must be blank (else "Unparsed data fragment").
``W``, ``M`` and ``Y`` multiply the factor by 7, 30 or 365 in unchecked 32-bit arithmetic
(``factor * 30`` is an ``int``: it wraps) before ``TimeSpan.FromDays(int)``. A result beyond
``TimeSpan``'s range (``ArgumentOutOfRangeException`` / ``OverflowException``) is an error here too.
"""

import re

_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'D': 86400}
_DAY_MULTIPLES = {'W': 7, 'M': 30, 'Y': 365}
_SEPARATORS = re.compile('[smhDWMY]')
# NumberStyles.Integer: AllowLeadingWhite | AllowTrailingWhite | AllowLeadingSign
_INTEGER = re.compile(r'\A[\t\n\v\f\r ]*([+-]?[0-9]+)[\t\n\v\f\r ]*\Z')
_INT32 = (-2 ** 31, 2 ** 31 - 1)
_INT64 = (-2 ** 63, 2 ** 63 - 1)
# TimeSpan.MaxValue.Ticks / TicksPerSecond
_MAX_SECONDS = (2 ** 63 - 1) / 10 ** 7


class TimeparserError(ValueError):
    """The exception ``ParseTimeSpan`` throws."""


def _integer(text, bounds):
    match = _INTEGER.match(text)
    if not match:
        return None
    value = int(match.group(1))
    return value if bounds[0] <= value <= bounds[1] else None


def _checked(seconds):
    if abs(seconds) > _MAX_SECONDS:
        raise TimeparserError('TimeSpan overflowed because the duration is too long.')
    return seconds


def parse_timespan(text):
    """Seconds (an int) of ``text``; raises TimeparserError."""
    if not text:
        return 0
    whole = _integer(text, _INT64)
    if whole is not None:
        return _checked(whole)
    total, previous = 0, 0
    while True:
        match = _SEPARATORS.search(text, previous)
        if match is None or match.start() <= 0:
            break
        partial = text[previous:match.start()].strip()
        factor = _integer(partial, _INT32)
        if factor is None:
            raise TimeparserError('"%s" is not a valid integer' % partial)
        unit = match.group()
        if unit in _DAY_MULTIPLES:
            days = (factor * _DAY_MULTIPLES[unit] + 2 ** 31) % 2 ** 32 - 2 ** 31
            seconds = days * 86400
        else:
            seconds = factor * _UNITS[unit]
        total = _checked(total + _checked(seconds))
        previous = match.start() + 1
    if text[previous:].strip():
        raise TimeparserError('Unparsed data fragment: %s' % text[previous:])
    return total
