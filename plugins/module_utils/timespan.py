# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Duplicati's duration ("timespan") strings, as ``Timeparser.ParseTimeSpan`` reads them.

Used for pause durations, ``--webservice-token-duration`` and other options:

* empty text means 0;
* a bare integer (optionally signed, surrounded by blanks) is a number of **seconds**;
* otherwise the text is a sequence of ``<integer><unit>`` parts that add up, with the
  case-sensitive units ``s`` seconds, ``m`` minutes, ``h`` hours, ``D`` days, ``W`` weeks,
  ``M`` months of 30 days and ``Y`` years of 365 days (``1h30m``, ``1D-1s``, ``2W``);
  blanks around the numbers are ignored and a unit may repeat;
* anything else (``1d``, ``1H``, ``30min``, ``5m foo``, ``1.5h``) is an error.

``parse_timespan`` returns whole seconds; ``format_timespan`` writes the canonical form
Duplicati reads back to the same number (``1h30m``, ``1D``, ``30D``/``1M``).
"""


import re

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import TimespanError

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

#: Seconds per unit, for every unit ``ParseTimeSpan`` knows.
UNITS = {
    's': 1,
    'm': MINUTE,
    'h': HOUR,
    'D': DAY,
    'W': 7 * DAY,
    'M': 30 * DAY,
    'Y': 365 * DAY,
}

VALID_UNITS_TEXT = ('a whole number of seconds (90), or <integer><unit> parts such as 1h30m, with the case-sensitive '
                    'units s (seconds), m (minutes), h (hours), D (days), W (weeks), M (30-day months), Y (365-day years)')

# .NET TimeSpan.MaxValue in whole seconds; larger durations overflow in Duplicati.
MAX_SECONDS = 922337203685
_INT32_MAX = 2 ** 31 - 1
_INT64_MAX = 2 ** 63 - 1

# NumberStyles.Integer: leading/trailing white (U+0009-U+000D, U+0020) and a leading sign, ASCII digits.
_NUMBER_WHITE = '\t\n\x0b\x0c\r '
_BARE_INTEGER = re.compile(r'\A[\t\n\x0b\x0c\r ]*([+-]?[0-9]+)[\t\n\x0b\x0c\r ]*\Z')
_SIGNED_INTEGER = re.compile(r'\A[+-]?[0-9]+\Z')
# String.Trim(): the characters for which .NET's char.IsWhiteSpace is true.
_NET_WHITESPACE = ('\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008'
                   '\u2009\u200a\u2028\u2029\u202f\u205f\u3000')
_SEPARATORS = re.compile('[smhDWMY]')
_DAY_MULTIPLES = {'W': 7, 'M': 30, 'Y': 365}
_LETTERS = re.compile(r'[^\W\d_]+')


def _invalid(text, reason):
    return TimespanError('Invalid duration %r: %s' % (text, reason), hint='Use ' + VALID_UNITS_TEXT + '.')


def _check_range(text, seconds):
    if abs(seconds) > MAX_SECONDS:
        raise _invalid(text, 'it is out of range (at most %d seconds either way)' % MAX_SECONDS)
    return seconds


def parse_timespan(text):
    """Parse a Duplicati duration into whole seconds (int); raise ``TimespanError`` if it is invalid.

    An int (not a bool) is taken as seconds; None and '' give 0.
    """
    if text is None:
        return 0
    if isinstance(text, int) and not isinstance(text, bool):
        return _check_range(str(text), text)
    if not isinstance(text, str):
        raise TimespanError('Invalid duration %r: expected text or an integer, got %s' % (text, type(text).__name__),
                            hint='Use ' + VALID_UNITS_TEXT + '.')
    if text == '':
        return 0

    bare = _BARE_INTEGER.match(text)
    if bare and -_INT64_MAX - 1 <= int(bare.group(1)) <= _INT64_MAX:
        return _check_range(text, int(bare.group(1)))

    total = 0
    start = 0
    while True:
        found = _SEPARATORS.search(text, start)
        # ParseTimeSpan stops at a unit letter in the very first position and rejects the text as unparsed
        if found is None:
            break
        if found.start() == 0:
            raise _invalid(text, 'it starts with the unit %r instead of a number' % found.group())
        part = text[start:found.start()].strip(_NET_WHITESPACE)
        if not _SIGNED_INTEGER.match(part) or not -_INT32_MAX - 1 <= int(part) <= _INT32_MAX:
            raise _invalid(text, '%r before the unit %r is not a whole number' % (part, found.group()))
        factor, unit = int(part), found.group()
        # Duplicati multiplies W, M and Y into days as a 32-bit int, and each part and the
        # running sum must fit a .NET TimeSpan
        if unit in _DAY_MULTIPLES and not -_INT32_MAX - 1 <= factor * _DAY_MULTIPLES[unit] <= _INT32_MAX:
            raise _invalid(text, 'it is out of range')
        total = _check_range(text, total + _check_range(text, factor * UNITS[unit]))
        start = found.end()

    rest = text[start:]
    if rest.strip(_NET_WHITESPACE):
        letters = _LETTERS.search(rest)
        if letters:
            raise _invalid(text, '%r is not a unit' % letters.group())
        raise _invalid(text, 'the text %r is not followed by a unit' % rest.strip(_NET_WHITESPACE))
    return total


def _render(parts):
    return ''.join('%d%s' % (count, unit) for count, unit in parts if count)


def _day_parts(days):
    """The shortest way to write a number of days with Y, M, W and D (ties: fewest parts, larger units)."""
    best = None
    for use_years in (True, False):
        years, rest = divmod(days, 365) if use_years else (0, days)
        for use_months in (True, False):
            months, rest2 = divmod(rest, 30) if use_months else (0, rest)
            for use_weeks in (True, False):
                weeks, rest3 = divmod(rest2, 7) if use_weeks else (0, rest2)
                parts = [(years, 'Y'), (months, 'M'), (weeks, 'W'), (rest3, 'D')]
                text = _render(parts)
                key = (len(text), sum(1 for count, dummy in parts if count))
                if best is None or key < best[0]:
                    best = (key, parts)
    return best[1]


def format_timespan(seconds):
    """Write a number of seconds as the canonical Duplicati duration (``1h30m``, ``1D``, ``0s``).

    Days are written with the units Y, M, W and D, whichever is shortest (``1M`` for
    30 days, ``400D`` rather than ``1Y5W``); the rest of a day as hours, minutes and
    seconds. Negative durations negate every part (``-1h-30m``), as Duplicati adds them.
    ``parse_timespan(format_timespan(n)) == n`` for every n in range.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TimespanError('Cannot format %r as a duration: expected a whole number of seconds' % (seconds,))
    _check_range(str(seconds), seconds)
    if seconds == 0:
        return '0s'
    sign = -1 if seconds < 0 else 1
    days, rest = divmod(abs(seconds), DAY)
    hours, rest = divmod(rest, HOUR)
    minutes, secs = divmod(rest, MINUTE)
    parts = (_day_parts(days) if days else []) + [(hours, 'h'), (minutes, 'm'), (secs, 's')]
    return ''.join('%d%s' % (sign * count, unit) for count, unit in parts if count)
