# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is a secret, in one place.

Every mask of the collection (preload.json diffs, daemon options, the agent runner's
output, the registration URL, error messages) and the values a module adds to
``no_log_values`` come from here:

* an option, variable or setting is secret when its name (``--name``, ``NAME``, ``name``,
  compared without leading dashes, ``_`` read as ``-``) contains one of ``SECRET_WORDS``,
  or ``key`` as a word, or is one of ``SECRET_URL_NAMES`` (links that are bearer secrets themselves). Duplicati
  names its secret options that way: ``--passphrase``, ``--auth-password``,
  ``--webservice-pre-auth-tokens``, ``--aws-secret-access-key``, ``--storj-api-key``,
  ``--authid`` (the OAuth token of ``Duplicati/Library/Backend/OAuthHelper``), ...;
* any value holding a URL with user info (``http://user:pw@host``) or a query parameter
  whose name says secret (``?token=``, ``?auth-password=``, ``?sig=``) is secret.

``MaskingModule`` is the ``AnsibleModule`` every module is built with: it adds the secret
values found in its parameters to ``no_log_values`` before the invocation is logged
(syslog/journald), so they never reach the log, ``-vvv`` or a result.
"""

import re
from urllib.parse import unquote

from ansible.module_utils.basic import AnsibleModule

MASK = '********'

SECRET_WORDS = ('password', 'passphrase', 'passwd', 'secret', 'token', 'jwt', 'credential', 'authid')
# "key" as a word or the end of one: ssh-key, apikey, pubkey, b2-applicationkey; not monkey.
_KEY = re.compile(r'(^|[-.]|api|pub|account|access|application|private|encryption)key')
SECRET_URL_NAMES = ('registration-url', 'register-remote-control', 'remote-control-url')
# Query parameter names that carry a secret in a URL, besides the secret names above.
SECRET_QUERY_WORDS = SECRET_WORDS + ('key', 'pass', 'pwd', 'auth', 'sig', 'signature', 'code', 'sas')

_PLAIN_VALUES = frozenset(('', 'true', 'false', 'yes', 'no', 'on', 'off', '0', '1', 'none', 'null'))
_SCHEME_CHARS = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-')
_SCHEME_MAX = 32
MAX_MESSAGE = 2000
_TRAILING = frozenset('.,;:!?)]}>\'"')


def normalize_name(name):
    """``--Auth_Password`` -> ``auth-password``."""
    return ('%s' % (name,)).strip().lstrip('-').lower().replace('_', '-')


def is_secret_name(name):
    """True for option, variable and setting names that carry secrets."""
    normalized = normalize_name(name)
    return any(word in normalized for word in SECRET_WORDS) or bool(_KEY.search(normalized)) or any(
        normalized == url_name or normalized.endswith('-' + url_name) for url_name in SECRET_URL_NAMES)


def is_secret_query_name(name):
    """True for URL query parameter names that carry a secret (``token``, ``auth-password``, ``sig``, ...)."""
    normalized = normalize_name(name)
    return any(word in normalized for word in SECRET_QUERY_WORDS)


def _url_spans(text):
    """(begin, end) of each URL (``scheme://`` up to the next white space) in ``text``, in linear time."""
    spans = []
    if not isinstance(text, str):
        return spans
    start = 0
    length = len(text)
    while True:
        mark = text.find('://', start)
        if mark < 0:
            return spans
        begin = mark
        while begin > 0 and mark - begin < _SCHEME_MAX and text[begin - 1] in _SCHEME_CHARS:
            begin -= 1
        while begin < mark and not text[begin].isalpha():
            begin += 1
        end = mark + 3
        while end < length and not text[end].isspace():
            end += 1
        stop = end
        while stop > mark + 3 and text[stop - 1] in _TRAILING:
            stop -= 1
        if begin < mark:
            spans.append((begin, stop))
        start = end


def urls_in(text):
    """The URLs in ``text``."""
    return [text[begin:end] for begin, end in _url_spans(text)]


def url_secrets(url):
    """The secret parts of one URL: its user info and its secret query values (decoded and not)."""
    parts = []
    rest = url.split('://', 1)[1] if '://' in url else url
    authority = rest
    # a '#' ends neither the authority nor the query: Duplicati's RelaxedUri.URL_PARSER reads it as part of a value
    for stop in '/?':
        authority = authority.split(stop, 1)[0]
    if '@' in authority:
        userinfo = authority.rsplit('@', 1)[0]
        parts.append(userinfo)
        if ':' in userinfo:
            parts.append(userinfo.split(':', 1)[1])
    if '?' in rest:
        query = rest.split('?', 1)[1]
        for pair in query.replace(';', '&').split('&'):
            name, sep, value = pair.partition('=')
            if sep and value and is_secret_query_name(unquote(name)):
                parts.append(value)
    result = []
    for part in parts:
        for variant in (part, unquote(part)):
            if variant and variant not in result:
                result.append(variant)
    return result


def value_has_secret_url(value):
    """True if ``value`` holds a URL with user info or a secret query parameter."""
    return any(url_secrets(url) for url in urls_in(value))


def mask_urls(text):
    """``text`` with the user info and secret query values of every URL in it masked."""
    if not isinstance(text, str) or '://' not in text:
        return text
    pieces = []
    done = 0
    for begin, end in _url_spans(text):
        url = text[begin:end]
        for part in sorted(url_secrets(url), key=len, reverse=True):
            url = url.replace(part, MASK)
        pieces.extend((text[done:begin], url))
        done = end
    pieces.append(text[done:])
    return ''.join(pieces)


def mask_text(text, values=()):
    """``text`` with each of ``values`` (longest first) and every credential inside a URL masked."""
    if text is None:
        return None
    text = '%s' % (text,)
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return mask_urls(text)


def split_argument(arg):
    """``--name=value`` -> (``--name``, ``value``); (arg, None) without ``=``."""
    name, sep, value = arg.partition('=')
    return (name, value) if sep else (arg, None)


def is_plain(value):
    """Values such as ``true`` or ``0``: shown even under a secret name, never added to no_log_values
    (that would mask every ``true`` of the output)."""
    return ('%s' % (value,)).strip().lower() in _PLAIN_VALUES


def mask_value(name, value):
    """``value`` as shown: masked when ``name`` is secret or it holds a secret URL."""
    if value is None:
        return None
    if (is_secret_name(name) and not is_plain(value)) or value_has_secret_url(value):
        return MASK
    return value


def mask_argument(arg):
    """One ``--name=value`` argument as shown."""
    if not isinstance(arg, str):
        return arg
    name, value = split_argument(arg)
    if value is None:
        return MASK if value_has_secret_url(arg) else arg
    return name + '=' + mask_value(name, value)


def mask_arguments(args):
    return [mask_argument(arg) for arg in args]


def secret_argument_names(args):
    """The names (lower case, in order) of the ``--name=value`` arguments whose values are secrets."""
    names = []
    for arg in args:
        name, value = split_argument(arg)
        if value is not None and is_secret_name(name) and not is_plain(value) and name.lower() not in names:
            names.append(name.lower())
    return names


def secret_values(data, name=None):
    """Every secret value inside ``data`` (dicts, lists, ``--name=value`` strings), with the secret
    parts of URLs; what a module adds to ``no_log_values``."""
    found = set()
    _collect(data, name, found)
    return set(v for v in found if not is_plain(v))


def _collect(data, name, found):
    if isinstance(data, dict):
        lowered = dict((normalize_name(k), k) for k in data if isinstance(k, str))
        # Duplicati's settings lists: [{"Name": "passphrase", "Value": "..."}]
        if 'name' in lowered and 'value' in lowered and is_secret_name(data[lowered['name']]):
            _collect(data[lowered['value']], data[lowered['name']], found)
        for key, value in data.items():
            _collect(value, key if isinstance(key, str) else name, found)
    elif isinstance(data, (list, tuple, set)):
        flag = None
        for item in data:
            _collect(item, name, found)
            # ["--webservice-password", "value"]: a secret option given as two entries
            if flag is not None and isinstance(item, str):
                found.add(item)
            flag = item if isinstance(item, str) and item.startswith('-') and '=' not in item and is_secret_name(item) else None
    elif isinstance(data, str):
        if name is not None and is_secret_name(name):
            found.add(data)
        arg_name, value = split_argument(data)
        if value is not None and arg_name and not any(c.isspace() for c in arg_name) and is_secret_name(arg_name):
            found.add(value)
        for url in urls_in(data):
            parts = url_secrets(url)
            if parts:
                found.add(url)
                found.update(parts)
    elif isinstance(data, (int, float)) and not isinstance(data, bool) and name is not None and is_secret_name(name):
        found.add(str(data))


def unusable_text(params):
    """The name of the first option whose text is not valid UTF-8 (lone surrogates: bytes Ansible
    could not decode) or holds a NUL character, and what is wrong with it; None when all are fine."""
    for name in sorted(params):
        problem = _unusable(params[name])
        if problem:
            return name, problem
    return None


def _unusable(value):
    if isinstance(value, dict):
        for item in list(value.keys()) + list(value.values()):
            problem = _unusable(item)
            if problem:
                return problem
    elif isinstance(value, (list, tuple)):
        for item in value:
            problem = _unusable(item)
            if problem:
                return problem
    elif isinstance(value, str):
        if '\x00' in value:
            return 'holds a NUL character, which no file name, user name or Duplicati option can hold'
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            return 'is not valid UTF-8 text (it holds bytes that could not be decoded); give it as UTF-8'
    return None


def _suboption_shaped(spec, value):
    """Whether ``value`` has a shape ansible-core can check against the suboptions of ``spec`` without failing:
    a dict or text for a dict option, and a list of those (or text) for a list of dicts."""
    if isinstance(value, (dict, str)):
        return True
    return spec.get('type') == 'list' and isinstance(value, list) and all(isinstance(item, (dict, str)) for item in value)


class MaskingModule(AnsibleModule):
    """``AnsibleModule`` that hides the secret values of its parameters from the start.

    ``AnsibleModule.__init__`` logs the invocation (syslog/journald) through
    ``_log_invocation()``, with the values then in ``no_log_values`` removed. This class
    adds ``secret_values(params)`` to ``no_log_values`` just before that, so the log, the
    ``invocation`` of ``-vvv`` and every result and message are masked as well. Text that is
    not UTF-8 or holds a NUL character fails the task there with a message: it could not be
    logged (``_log_invocation`` would raise) nor used as a path, user or option.
    """

    def _load_params(self):
        # Any other value than a dict (or a list of them) given for an option with suboptions is passed on as
        # text: ansible-core then reports a wrong type, where it would fail with a traceback (its
        # ``set_fallbacks`` runs before the type check of suboptions).
        super(MaskingModule, self)._load_params()
        for name, spec in self.argument_spec.items():
            value = self.params.get(name)
            if spec.get('options') and value is not None and not _suboption_shaped(spec, value):
                self.params[name] = str(value)

    def _log_invocation(self):
        self._check_params()
        super(MaskingModule, self)._log_invocation()

    def __init__(self, *args, **kwargs):
        super(MaskingModule, self).__init__(*args, **kwargs)
        # With no_log on the task the invocation is not logged; the checks still apply.
        self._check_params()

    def fail_json(self, msg, **kwargs):
        """Fail; a message that quotes a huge value is cut short."""
        if isinstance(msg, str) and len(msg) > MAX_MESSAGE:
            msg = '%s ... (%d characters left out)' % (msg[:MAX_MESSAGE], len(msg) - MAX_MESSAGE)
        super(MaskingModule, self).fail_json(msg=msg, **kwargs)

    def _check_params(self):
        self.no_log_values.update(secret_values(self.params))
        # A blank value of a no_log option hides nothing, but masking it would mask every space of
        # the output (the message that refuses a blank passphrase among them).
        self.no_log_values.difference_update([v for v in self.no_log_values if not v.strip()])
        unusable = unusable_text(self.params)
        if unusable:
            self.fail_json(msg='The option %s %s' % unusable)
