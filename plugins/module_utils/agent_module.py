# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared frame of the modules that work on the host of a Duplicati Agent.

``agent_info``, ``agent_registration``, ``preload`` and ``service`` write::

    def run(host):
        ...
        return dict(changed=False, ...)

    def main():
        AgentModule(dict(path=dict(type='path')), io_failure='Failed to update preload.json').execute(run)

``AgentModule`` builds the module as ``secrets.MaskingModule`` (the secret values of the
parameters join ``no_log_values`` before the invocation is logged), always with check mode.
``execute`` turns every ``DuplicatiError`` (and an ``OSError``, prefixed with
``io_failure``) into one ``fail_json(msg=...)`` with the error's hint and without a
traceback; the message has the module's secrets masked: its no-log values, credentials
inside URLs, and the options named in ``secret_urls`` as ``redaction.redact`` shows them.
"""

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.module_frame import ModuleFrame
from ansible_collections.duplicati.fleet.plugins.module_utils.redaction import redact
from ansible_collections.duplicati.fleet.plugins.module_utils.secrets import MaskingModule, mask_text


class AgentModule(ModuleFrame):
    """A ``MaskingModule`` with check mode and one way to fail.

    :param argument_spec: the module's options.
    :param io_failure: what failed, put before the text of an ``OSError`` that reaches ``execute``.
    :param secret_urls: options whose value is a bearer URL (the registration URL): a message
        shows it with its query values masked and never shows any of its parts.
    Other keyword arguments (``mutually_exclusive``, ``required_if``, ...) go to ``AnsibleModule``.
    """

    def __init__(self, argument_spec, io_failure, secret_urls=(), **kwargs):
        kwargs.setdefault('supports_check_mode', True)
        self.module = MaskingModule(argument_spec=argument_spec, **kwargs)
        self.io_failure = io_failure
        self.secret_urls = secret_urls

    def mask(self, text):
        """``text`` as it may be shown: no secret of this module's parameters in it."""
        for name in self.secret_urls:
            text = redact(text, self.params.get(name))
        return mask_text(text, self.module.no_log_values)

    def execute(self, run):
        """Run ``run(self)`` and exit with the dict it returns; a ``DuplicatiError`` or ``OSError`` fails the task.

        ``run`` must raise before it changes anything it cannot finish, so a failure leaves nothing half-done.
        """
        failure = None
        try:
            result = run(self)
        except DuplicatiError as err:
            failure = str(err)
        except (IOError, OSError) as err:
            failure = '%s: %s' % (self.io_failure, err)
        if failure is not None:
            # Outside the except block: the user gets the message, not a traceback.
            self.module.fail_json(msg=self.mask(failure))
        self.module.exit_json(**result)
