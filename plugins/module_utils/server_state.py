# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of a Duplicati server: status, pause, resume and health.

* ``GET serverstate`` → the status DTO ``{ActiveTask, ProgramState: "Running"|"Paused",
  SchedulerQueueIds, EstimatedPauseEnd, …}`` (``ServerStatusDto.cs``);
* ``POST serverstate/pause?duration=…&pauseTransfers=…``: the duration is a Duplicati
  timespan (``5m``, ``1h30m``, ``1D``); it is checked here before anything is sent, and
  an empty or zero duration pauses until resumed, as on the server;
* ``POST serverstate/resume``;
* ``GET <host_url>health``: no authentication, no ``api/v1`` prefix, 10 s timeout.
"""


from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError

HEALTH_TIMEOUT = 10
RUNNING = 'Running'
PAUSED = 'Paused'
NO_PAUSE_END = '0001-01-01'


def get_state(client):
    """The server status DTO (a dict)."""
    answer = client.request('GET', 'serverstate')
    if not isinstance(answer, dict):
        raise DuplicatiError('Failed to read the state of %s: the answer is not an object.' % client.host_url)
    return answer


def is_paused(state):
    return (state or {}).get('ProgramState') == PAUSED


def pause_end(state):
    """``EstimatedPauseEnd`` of a status DTO, or None when the server runs or the pause has no end
    (the server sends .NET's ``DateTime.MinValue`` then)."""
    value = (state or {}).get('EstimatedPauseEnd')
    if (state or {}).get('ProgramState') != PAUSED or not value or str(value).startswith(NO_PAUSE_END):
        return None
    return value


def backup_is_busy(state, backup_id):
    """True if the backup is the active task or waits in the scheduler queue (ServerUtil's wait test)."""
    wanted = str(backup_id)
    active = (state or {}).get('ActiveTask')
    if isinstance(active, dict) and str(active.get('Item2')) == wanted:
        return True
    for queued in (state or {}).get('SchedulerQueueIds') or []:
        if isinstance(queued, dict) and str(queued.get('Item2')) == wanted:
            return True
    return False


def check_duration(duration):
    """The duration as seconds (0 = until resumed); a bad value is a ``DuplicatiError`` before anything is sent."""
    if duration is None or str(duration).strip() == '':
        return 0
    from ansible_collections.duplicati.fleet.plugins.module_utils.timespan import parse_timespan
    try:
        seconds = _seconds(parse_timespan(str(duration)))
    except DuplicatiError as err:
        raise DuplicatiError('Invalid pause duration %r: %s' % (duration, err.message),
                             hint='Use a Duplicati timespan such as 90 (seconds), 5m, 1h30m, 1D or 1W; units are case-sensitive.')
    except ValueError as err:
        raise DuplicatiError('Invalid pause duration %r: %s' % (duration, err),
                             hint='Use a Duplicati timespan such as 90 (seconds), 5m, 1h30m, 1D or 1W; units are case-sensitive.')
    return seconds


def _seconds(value):
    total = getattr(value, 'total_seconds', None)
    return total() if callable(total) else float(value)


def pause(client, duration=None, pause_transfers=None):
    """Pause the scheduler (and with ``pause_transfers`` the running transfers) for ``duration`` or until resumed."""
    check_duration(duration)
    query = []
    if duration is not None and str(duration).strip() != '':
        query.append(('duration', str(duration).strip()))
    if pause_transfers is not None:
        query.append(('pauseTransfers', bool(pause_transfers)))
    client.request('POST', 'serverstate/pause', query=query or None, idempotent=True)


def resume(client):
    """Resume a paused server."""
    client.request('POST', 'serverstate/resume', idempotent=True)


def health(client):
    """``{'healthy': bool, 'status': int or None, 'message': str}`` from ``GET <host_url>health`` (no credentials)."""
    try:
        response = client.transport.request('GET', 'health', root=True, raw=True, idempotent=False, timeout=HEALTH_TIMEOUT,
                                            action='check the health of')
    except DuplicatiError as err:
        return {'healthy': False, 'status': err.status, 'message': str(err)}
    text = response.body.decode('utf-8', 'replace').strip()
    return {'healthy': True, 'status': response.status, 'message': text or 'Healthy'}
