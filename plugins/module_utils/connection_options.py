# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options every module that talks to a Duplicati server shares.

One argument spec, documented once in ``plugins/doc_fragments/server.py``. Each option
can come from an environment variable (``env_fallback``), so AWX/AAP credential types
can inject them. A module writes::

    argument_spec = server_argument_spec(name=dict(type='str', required=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = connect(module.params)

It imports only ``ansible.module_utils.basic`` and the transport's defaults.
"""


import copy

from ansible.module_utils.basic import env_fallback

from ansible_collections.duplicati.fleet.plugins.module_utils.transport import DEFAULT_HOST_URL, DEFAULT_TIMEOUT

CONNECTION_ARGUMENT_SPEC = dict(
    host_url=dict(type='str', default=DEFAULT_HOST_URL, fallback=(env_fallback, ['DUPLICATI_HOST_URL'])),
    password=dict(type='str', no_log=True, fallback=(env_fallback, ['DUPLICATI_PASSWORD'])),
    access_token=dict(type='str', no_log=True, fallback=(env_fallback, ['DUPLICATI_ACCESS_TOKEN'])),
    server_data_folder=dict(type='path'),
    settings_encryption_key=dict(type='str', no_log=True, fallback=(env_fallback, ['SETTINGS_ENCRYPTION_KEY'])),
    settings_file=dict(type='path'),
    agent_settings_file=dict(type='path'),
    agent_settings_passphrase=dict(type='str', no_log=True),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    host_certificate=dict(type='list', elements='str', fallback=(env_fallback, ['DUPLICATI_HOST_CERT'])),
    timeout=dict(type='int', default=DEFAULT_TIMEOUT),
)

CONNECTION_OPTION_NAMES = tuple(sorted(CONNECTION_ARGUMENT_SPEC))


def server_argument_spec(**module_options):
    """A fresh copy of the connection options, plus the module's own ``module_options``."""
    spec = copy.deepcopy(CONNECTION_ARGUMENT_SPEC)
    for name in module_options:
        if name in spec:
            raise ValueError('The module option %s would shadow a shared connection option' % name)
    spec.update(module_options)
    return spec


def connection_params(params):
    """Only the connection options of a module's ``params`` (for ``client.connect``)."""
    return dict((name, params.get(name)) for name in CONNECTION_OPTION_NAMES)
