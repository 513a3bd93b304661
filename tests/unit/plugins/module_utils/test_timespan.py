# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Duplicati durations: Timeparser.ParseTimeSpan's rules, and the canonical writer."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from hypothesis import given, strategies as st

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError, TimespanError
from ansible_collections.duplicati.fleet.plugins.module_utils.timespan import (
    MAX_SECONDS,
    format_timespan,
    parse_timespan,
)

M, H, D = 60, 3600, 86400


@pytest.mark.parametrize('text, seconds', [
    # bare integers are seconds, signed, blanks allowed (NumberStyles.Integer)
    ('90', 90), ('0', 0), ('-90', -90), ('+15', 15), (' 90 ', 90), ('\t42\n', 42), ('007', 7),
    ('9223372036854775807'[:12], 922337203685),
    # units, case-sensitive
    ('5s', 5), ('5m', 5 * M), ('2h', 2 * H), ('1D', D), ('1W', 7 * D), ('1M', 30 * D), ('1Y', 365 * D),
    # mixed units (Timeparser.ParseTimeSpan)
    ('1h30m', 90 * M), ('1D-1s', D - 1), ('30D', 30 * D),
    # parts add up, repeat, and may be negative; blanks around numbers are trimmed
    ('1h1h', 2 * H), ('1m-30s', 30), ('-1h-30m', -90 * M), ('-1h30m', -30 * M), (' 1 h 30 m ', 90 * M),
    ('1h 30m', 90 * M), ('2W3D', 17 * D), ('1Y1M1W1D1h1m1s', 365 * D + 30 * D + 7 * D + D + H + M + 1),
    ('+5m', 5 * M), ('1h\u00a030m', 90 * M),  # String.Trim() also trims a no-break space
    # empty means zero
    ('', 0), (None, 0),
])
def test_parse(text, seconds):
    assert parse_timespan(text) == seconds


def test_parse_accepts_integers_as_seconds():
    assert parse_timespan(90) == 90
    assert parse_timespan(-5) == -5


@pytest.mark.parametrize('text', [
    '1d', '1H', '30min', '1min', '5m foo', '1h30', '1.5h', '1,000', '1e3', 'abc', 'h', 'm5', ' s',
    '1hm', '1h h', '--5m', '5 5m', '0x10', '\u0661\u0662', '\u0661m', '\u00a090', '1 d', '1S', '1y', '1w',
    '99999999999999999999', '2147483648s', '306783379W', '1000000000D', '922337203686',
])
def test_invalid(text):
    with pytest.raises(TimespanError) as err:
        parse_timespan(text)
    message = str(err.value)
    assert repr(text) in message
    units = ('s (seconds)', 'm (minutes)', 'h (hours)', 'D (days)', 'W (weeks)', 'M (30-day months)', 'Y (365-day years)')
    for unit in units:
        assert unit in message
    assert isinstance(err.value, ValueError) and isinstance(err.value, DuplicatiError)


@pytest.mark.parametrize('text, reason', [
    ('1d', "'d' is not a unit"), ('1H', "'H' is not a unit"), ('30min', "'in' is not a unit"),
    ('5m foo', "'foo' is not a unit"), ('m5', "starts with the unit 'm'"), ('1hm', "'' before the unit 'm'"),
    ('1.5h', "'1.5' before the unit 'h'"), ('1h30', "'30' is not followed by a unit"),
])
def test_invalid_reasons(text, reason):
    with pytest.raises(TimespanError, match=reason):
        parse_timespan(text)


@pytest.mark.parametrize('value', [1.5, True, b'5m', ['5m']])
def test_parse_rejects_other_types(value):
    with pytest.raises(TimespanError):
        parse_timespan(value)


@pytest.mark.parametrize('seconds, text', [
    (0, '0s'), (1, '1s'), (59, '59s'), (60, '1m'), (90, '1m30s'), (H, '1h'), (90 * M, '1h30m'),
    (D, '1D'), (D - 1, '23h59m59s'), (D + 1, '1D1s'), (7 * D, '1W'), (14 * D, '2W'), (30 * D, '1M'),
    (365 * D, '1Y'), (400 * D, '400D'), (35 * D, '5W'), (8 * D, '8D'), (60 * D, '2M'), (396 * D, '396D'),
    (730 * D, '2Y'), (3650 * D, '10Y'), (3650 * D + 1, '10Y1s'),
    (-90 * M, '-1h-30m'), (-1, '-1s'),
])
def test_format(seconds, text):
    assert format_timespan(seconds) == text
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize('value', [1.0, '90', None, True, MAX_SECONDS + 1, -MAX_SECONDS - 1])
def test_format_rejects_bad_input(value):
    with pytest.raises(TimespanError):
        format_timespan(value)


@given(st.integers(min_value=-MAX_SECONDS, max_value=MAX_SECONDS))
def test_format_round_trips(seconds):
    text = format_timespan(seconds)
    assert parse_timespan(text) == seconds
    assert len(text) <= len(str(abs(seconds))) + 12


@given(st.lists(st.tuples(st.integers(min_value=-4000, max_value=4000), st.sampled_from('smhDWMY'),
                          st.sampled_from(['', ' ', '  '])), min_size=1, max_size=6))
def test_parts_add_up(parts):
    text = ''.join('%s%d%s%s' % (pad, count, pad, unit) for count, unit, pad in parts)
    factor = {'s': 1, 'm': M, 'h': H, 'D': D, 'W': 7 * D, 'M': 30 * D, 'Y': 365 * D}
    assert parse_timespan(text) == sum(count * factor[unit] for count, unit, dummy in parts)


def test_sum_beyond_the_timespan_range_is_an_error():
    with pytest.raises(TimespanError, match='out of range'):
        parse_timespan('10000Y10000Y10000Y')
    assert parse_timespan('10000Y10000Y') == 20000 * 365 * D
