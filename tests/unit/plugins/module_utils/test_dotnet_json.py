# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils.dotnet_json import RawString, dumps


def test_default_encoder_escapes():
    text = dumps(u'a"b\\c<d>e&f\'g+h`i\n\r\t\b\f\x01\x7fé\U0001F600/')
    assert text == u'"a\\u0022b\\\\c\\u003Cd\\u003Ee\\u0026f\\u0027g\\u002Bh\\u0060i\\n\\r\\t\\b\\f\\u0001\\u007F\\u00E9\\uD83D\\uDE00/"'
    assert json.loads(text) == u'a"b\\c<d>e&f\'g+h`i\n\r\t\b\f\x01\x7fé\U0001F600/'


def test_compact_and_indented():
    doc = {'a': [1, True, None, {'b': []}], 'c': {}}
    assert dumps(doc) == '{"a":[1,true,null,{"b":[]}],"c":{}}'
    assert dumps(doc, indent=True) == '{\n  "a": [\n    1,\n    true,\n    null,\n    {\n      "b": []\n    }\n  ],\n  "c": {}\n}'
    assert dumps([], indent=True) == '[]'
    assert dumps({'x': 1}, indent=True, newline='\r\n') == '{\r\n  "x": 1\r\n}'


def test_raw_string_and_errors():
    assert dumps({'d': RawString('2026-01-01T00:00:00+01:00')}) == '{"d":"2026-01-01T00:00:00+01:00"}'
    with pytest.raises(TypeError):
        dumps({'x': object()})
