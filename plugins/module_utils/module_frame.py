# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection reads from its ``AnsibleModule``, in one place.

``server_module.ServerModule`` (the modules that talk to a server) and
``agent_module.AgentModule`` (the modules that work on an agent's host) build on it: each
sets ``self.module`` and hands itself to the module's ``run`` function.
"""


class ModuleFrame(object):
    """The parameters, check mode, diff mode and warnings of ``self.module``."""

    module = None

    @property
    def params(self):
        return self.module.params

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return bool(self.module._diff)

    def warn(self, message):
        self.module.warn(message)
