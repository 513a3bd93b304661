# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeping a registration URL (a bearer secret) out of messages and output.

Its own small file, so that modules which only need to mask a URL (``agent_runner`` and the
modules built on it) do not import the HTTP machinery of ``registration``.
"""


from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

MASK = '********'


def redacted_url(url):
    """``url`` with every query value and any user info replaced by a mask, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if '@' in netloc:
        netloc = MASK + '@' + netloc.rsplit('@', 1)[1]
    query = '&'.join('%s=%s' % (name, MASK) for name, dummy in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ''))


def secret_fragments(url):
    """The strings that must never be shown: the URL itself and its query values and user info."""
    fragments = set()
    if not url:
        return []
    fragments.add(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    for dummy, value in parse_qsl(parts.query, keep_blank_values=True):
        if len(value) >= 4:
            fragments.add(value)
    if parts.query:
        fragments.add(parts.query)
    if '@' in parts.netloc:
        fragments.add(parts.netloc.rsplit('@', 1)[0])
    for fragment in list(fragments):
        fragments.add(unquote(fragment))
    # Longest first, so the whole URL is replaced before its parts are.
    return sorted((f for f in fragments if f), key=len, reverse=True)


def redact(text, url):
    """``text`` with the registration URL and its secret parts masked."""
    if text is None:
        return None
    text = '%s' % (text,)
    if not url:
        return text
    shown = redacted_url(url)
    for fragment in secret_fragments(url):
        text = text.replace(fragment, shown if fragment == url else MASK)
    return text
