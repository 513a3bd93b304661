# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups on a Duplicati server: list, find, run, log, delete, export and import.

The calls are the ones ``duplicati-server-util`` makes (``Duplicati/CommandLine/ServerUtil/Commands/*.cs``;
exports: ``Duplicati/WebserverCore/Endpoints/V1/Backup/BackupGet.cs`` ``ExecuteGetExport``):

* ``GET backups`` / ``GET backup/{id}``: entries ``{Backup: {ID, Name, …}, Schedule}``;
* ``POST backup/{id}/run?skipqueue=True|False`` → ``{Status, ID}`` (sent exactly once);
* ``GET backup/{id}/log``; the ``ParsedResult`` of the newest entry is read from the JSON
  in its ``Message``, as ServerUtil reads it;
* ``DELETE backup/{id}?delete-remote-files=…&delete-local-db=…&force=…`` → ``{Status, Reason, ID}``;
* export: ``POST auth/issuetoken/export`` then ``GET backup/{id}/export?passphrase=…&export-passwords=…&token=…``,
  whose body is the raw file (JSON, or AES Crypt when a passphrase is given);
* import: ``POST backups/import`` with the JSON body ``{config: base64, import_metadata,
  passphrase, direct: true, replace_settings}`` → ``{Id}``.
"""


import base64
import json

from ansible_collections.duplicati.fleet.plugins.module_utils.aescrypt import is_aescrypt
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.plugins.module_utils.transport import Failure, quote_segment

# Reasons of a refused DELETE (BackupPutDelete.cs ExecuteDelete) and what to do about them.
_DELETE_REASONS = {
    'backup-in-progress': 'the backup is running; set force to stop it first',
    'backup-unstoppable': 'the running backup could not be stopped within 10 seconds; try again later',
}


def _path(backup_id, *rest):
    return '/'.join(('backup', quote_segment(backup_id)) + rest)


def _not_found(backup_id):
    return {404: Failure('there is no backup with ID %s' % backup_id, 'Check the backup ID or name.')}


def backup_id(entry):
    """The ID of a ``{Backup, Schedule}`` entry."""
    return str(((entry or {}).get('Backup') or {}).get('ID'))


def backup_name(entry):
    return ((entry or {}).get('Backup') or {}).get('Name')


def list_backups(client):
    """All backups: a list of ``{Backup: {ID, Name, Description, …}, Schedule}``."""
    answer = client.request('GET', 'backups')
    if not isinstance(answer, list):
        raise DuplicatiError('Failed to list the backups on %s: the answer is not a list.' % client.host_url)
    return answer


def get_backup(client, ident):
    """One backup by ID: ``{Backup, Schedule, …}``. A missing backup is a ``DuplicatiError`` with status 404."""
    return client.request('GET', _path(ident), failures=_not_found(ident))


def find_backup(client, ref, backups=None):
    """The backup whose ID equals ``ref`` or whose name equals it case-insensitively, or None.

    The first match in the server's order wins, as in ServerUtil's ``run`` command.
    """
    if ref is None or str(ref) == '':
        raise DuplicatiError('No backup given: set the backup ID or name.')
    wanted = str(ref)
    for entry in backups if backups is not None else list_backups(client):
        name = backup_name(entry)
        if backup_id(entry) == wanted or (isinstance(name, str) and name.lower() == wanted.lower()):
            return entry
    return None


def require_backup(client, ref, backups=None):
    """Like ``find_backup`` but a missing backup is an error naming the backups there are."""
    backups = backups if backups is not None else list_backups(client)
    entry = find_backup(client, ref, backups)
    if entry is None:
        known = ', '.join('%s (%s)' % (backup_name(b), backup_id(b)) for b in backups) or 'none'
        raise DuplicatiError('No backup found with ID or name %r on %s.' % (str(ref), client.host_url),
                             status=404, hint='The backups there are: %s.' % known)
    return entry


def run_backup(client, ident, skip_queue=False):
    """Queue a run (at the front with ``skip_queue``); returns ``{Status, ID}`` with the task ID. Never repeated."""
    return client.request('POST', _path(ident, 'run'), query={'skipqueue': bool(skip_queue)}, idempotent=False,
                          failures=_not_found(ident))


def backup_log(client, ident, offset=None, pagesize=None):
    """Log entries of a backup, newest first (``GET backup/{id}/log``)."""
    query = []
    if offset is not None:
        query.append(('offset', int(offset)))
    if pagesize is not None:
        query.append(('pagesize', int(pagesize)))
    answer = client.request('GET', _path(ident, 'log'), query=query or None, failures=_not_found(ident))
    return answer if isinstance(answer, list) else []


def parsed_result(log_entry):
    """``ParsedResult`` ("Success", "Warning", "Error", "Fatal", …) from a log entry's ``Message`` JSON, or None."""
    if not isinstance(log_entry, dict):
        return None
    message = log_entry.get('Message')
    if not isinstance(message, str):
        return None
    try:
        result = json.loads(message)
    except ValueError:
        return None
    value = result.get('ParsedResult') if isinstance(result, dict) else None
    return None if value is None else str(value)


def latest_log_entry(client, ident):
    """The newest entry of the backup's log, or None when it has none."""
    entries = backup_log(client, ident, pagesize=1)
    return entries[0] if entries and isinstance(entries[0], dict) else None


def task_state(client, task_id):
    """``GET task/{id}``: ``{Status, ErrorMessage, ...}`` of a queued task, or None when the server no longer knows it.

    ``Status`` is ``Waiting``, ``Running``, ``Completed`` or ``Failed``; a failed task carries
    the exception's message in ``ErrorMessage`` (``TaskQueueService.GetTaskInfo``). The server
    keeps the results of a limited number of finished tasks; an older one is a 404.
    """
    try:
        answer = client.request('GET', 'task/%s' % quote_segment(task_id))
    except DuplicatiError as err:
        if err.status == 404:
            return None
        raise
    return answer if isinstance(answer, dict) else None


def delete_backup(client, ident, delete_remote_files=False, delete_local_db=False, force=False):
    """Delete a backup configuration (and optionally its remote files and local database).

    Returns ``{Status: "OK", ID: <task id>}``. The server refuses with HTTP 500 and
    ``{Status: "failed", Reason}`` (a running backup without ``force``); that is a ``DuplicatiError``.
    """
    def explain(status, server_error):
        if status == 404:
            return _not_found(ident)[404]
        if status == 500 and server_error in _DELETE_REASONS:
            return Failure(_DELETE_REASONS[server_error], quote_server=True)
        return None

    query = [('delete-remote-files', bool(delete_remote_files)), ('delete-local-db', bool(delete_local_db)), ('force', bool(force))]
    answer = client.request('DELETE', _path(ident), query=query, idempotent=False, failures=explain,
                            action='delete the backup %s on' % ident)
    if not isinstance(answer, dict) or answer.get('Status') != 'OK':
        reason = answer.get('Reason') if isinstance(answer, dict) else None
        raise DuplicatiError('Failed to delete the backup %s on %s: %s.' % (ident, client.host_url, reason or 'unexpected answer'),
                             server_error=reason)
    return answer


def export_backup(client, ident, passphrase=None, export_passwords=False):
    """The exported configuration file as bytes (AES Crypt when ``passphrase`` is given) and its file name.

    Returns ``(data, filename)``; ``filename`` is the one the server suggests, or None.
    """
    token = client.issue_operation_token('export')
    query = [('passphrase', passphrase or ''), ('export-passwords', bool(export_passwords)), ('token', token)]
    response = client.request('GET', _path(ident, 'export'), query=query, raw=True, failures=_not_found(ident))
    return response.body, _attachment_name(response.header('Content-Disposition'))


def _attachment_name(disposition):
    if not disposition or 'filename=' not in disposition:
        return None
    from urllib.parse import unquote
    name = disposition.split('filename=', 1)[1].split(';', 1)[0].strip().strip('"')
    return unquote(name) or None


def import_backup(client, data, passphrase=None, import_metadata=False, backup_passphrase=None, backup_url=None, replace_settings=None):
    """Import an exported configuration; returns the new backup (``GET backup/{Id}``).

    ``backup_passphrase`` and ``backup_url`` become ``replace_settings`` keys
    ``settings.passphrase`` and ``targeturl`` (ServerUtil's ``--backup-passphrase``/``--backup-url``).
    An encrypted file without ``passphrase`` is refused before anything is sent.
    """
    if not data:
        raise DuplicatiError('Nothing to import: the configuration file is empty.')
    if is_aescrypt(data) and not passphrase:
        raise DuplicatiError('The configuration file is encrypted (AES Crypt) but no passphrase was given.',
                             hint='Set the passphrase the file was exported with.')
    replace = dict(replace_settings or {})
    if backup_passphrase:
        replace['settings.passphrase'] = backup_passphrase
    if backup_url:
        replace['targeturl'] = backup_url
    body = {
        'config': base64.b64encode(bytes(data)).decode('ascii'),
        'import_metadata': bool(import_metadata),
        'passphrase': passphrase or None,
        'direct': True,
        'replace_settings': replace,
    }
    answer = client.request('POST', 'backups/import', body=body, idempotent=False, action='import a backup configuration into')
    new_id = answer.get('Id') if isinstance(answer, dict) else None
    if new_id is None or str(new_id) == '':
        raise DuplicatiError('The backup was imported into %s but the answer has no Id.' % client.host_url)
    return get_backup(client, str(new_id))
