# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared frame of the modules that talk to a Duplicati server.

A server module writes::

    def run(server):
        entry = backups.require_backup(server.client, server.params['backup'])
        ...
        return dict(changed=False, backups=[...])

    def main():
        ServerModule(dict(backup=dict(type='str', required=True))).execute(run)

``ServerModule`` builds the ``AnsibleModule`` from the shared connection options
(``connection_options.py``) and the module's own, always with check mode. Its
``client`` (``client.DuplicatiClient``) is created on first use, so a module that fails
on its own input never contacts the server. ``execute`` turns every ``DuplicatiError``
into one ``fail_json(msg=...)`` without a traceback, and passes on the client's
warnings (a stored login that was refused, a token saved unencrypted).
"""


from ansible_collections.duplicati.fleet.plugins.module_utils.client import connect
from ansible_collections.duplicati.fleet.plugins.module_utils.connection_options import connection_params, server_argument_spec
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.module_frame import ModuleFrame
from ansible_collections.duplicati.fleet.plugins.module_utils.secrets import MaskingModule, mask_urls

MAX_TIMEOUT = 86400


class ServerModule(ModuleFrame):
    """An ``AnsibleModule`` with the server connection options and a lazily connected client.

    :param argument_spec: the module's own options (must not reuse a connection option name).
    :param persist: ask for a long-lived login saved to ``settings_file`` (``server_login``).
    Other keyword arguments (``mutually_exclusive``, ``required_if``, ...) go to ``AnsibleModule``.
    """

    def __init__(self, argument_spec, persist=False, **kwargs):
        kwargs.setdefault('supports_check_mode', True)
        self.module = MaskingModule(argument_spec=server_argument_spec(**argument_spec), **kwargs)
        self.persist = persist
        self._client = None

    @property
    def client(self):
        """The ``DuplicatiClient`` for the connection options; it logs in on its first call."""
        if self._client is None:
            self._client = connect(self.connection_params(), persist=self.persist)
        return self._client

    def connection_params(self):
        """The connection options of this module's parameters."""
        return connection_params(self.params)

    def fail(self, message, **result):
        """Fail with ``message`` (and the client's warnings); credentials inside URLs are masked."""
        self._flush_warnings()
        result = dict((key, mask_urls(value)) for key, value in result.items())
        self.module.fail_json(msg=mask_urls(message), **result)

    def execute(self, run):
        """Run ``run(self)`` and exit with the dict it returns; a ``DuplicatiError`` fails the task.

        ``run`` may raise ``DuplicatiError`` at any point; it must do so before it changes
        anything it cannot finish, so a failure leaves nothing half-done. Either way, a
        login made for this run only is logged out before the module exits, and the
        tokens obtained at run time are kept out of its output.
        """
        failure = None
        try:
            check_timeout(self.params.get('timeout'))
            result = run(self)
        except DuplicatiError as err:
            failure = err.to_dict()
        self._end_run()
        if failure is not None:
            # Outside the except block: the user gets the message, not a traceback.
            message = failure.pop('msg')
            self.fail(message, **failure)
        self._flush_warnings()
        self.module.exit_json(**result)

    def mask(self, client):
        """Keep the tokens ``client`` obtained out of the module's output (for clients a module makes itself)."""
        self.module.no_log_values.update(client.auth.secrets())

    def _end_run(self):
        if self._client is None:
            return
        self.mask(self._client)
        self._client.auth.end_run()

    def _flush_warnings(self):
        if self._client is None:
            return
        for message in self._client.warnings:
            self.module.warn(message)
        # warnings are reported once, even if exit follows a failed exit in tests
        self._client.auth.warnings[:] = []


def check_timeout(timeout):
    """The per-answer timeout must be 1 to ``MAX_TIMEOUT`` seconds (0 used to mean the default silently)."""
    if timeout is not None and not 1 <= timeout <= MAX_TIMEOUT:
        raise DuplicatiError('Invalid timeout %r: give 1 to %d seconds' % (timeout, MAX_TIMEOUT))


def diff_result(result, before, after):
    """Add ``diff`` to ``result`` when before and after differ (the caller checks diff mode)."""
    if before != after:
        result['diff'] = dict(before=before, after=after)
    return result
