# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task queue, the pause/resume state and the simulated backup runs.

Like the real ``QueueRunnerService``: one task is active at a time, the rest wait in a
queue (``skipqueue`` puts a task first), a paused server starts no new task, and
finished tasks are remembered for ``GET task/{id}``. Like ``LiveControls``: a pause
has an optional end (``EstimatedPauseEnd``, ``0001-01-01`` when indefinite), it is
persisted as the server setting ``paused-until`` (UTC ticks, ``0`` = indefinite) and
restored on the next start.

A backup run does no I/O on sources: it is active for ``run_duration`` seconds, then
writes the operation result as a ``Result`` row into the backup's local database
(read by ``GET backup/{id}/log``) and updates the backup metadata, as ``Runner`` does.
The outcome (``Success``, ``Warning``, ``Error``, ``Fatal``) comes from the backup's
planned result (``plan_result``), default ``Success``. A delete task removes the
backup (and its local database when ``delete-local-db`` is true).

The planned result ``WorkerError`` is a failure of the queue runner itself, outside
the operation: ``QueueRunnerService.RunTaskAsync`` fails to get the backup's database
lock (``DatabaseLockedException``) before ``Runner.RunAsync`` starts. No ``LogData`` row
is written; like every exception of a task, it goes to the server's ``ErrorLog`` table
(``Connection.LogError(task.BackupID, "Error in worker", ex)``) and into the cached task
result, so ``GET task/{id}`` answers ``Failed`` with its ``ErrorMessage``.
"""

import datetime
import itertools
import json
import os
import threading
import time

from .database import from_ticks, serialize_datetime, to_ticks, utcnow

RESULTS = ('Success', 'Warning', 'Error', 'Fatal')
WORKER_ERROR = 'WorkerError'
# DatabaseLockedException (Library/Interface/CustomExceptions.cs)
DATABASE_LOCKED = ('The backup database is currently in use by another operation and cannot be accessed concurrently. '
                   'Please wait for the running operation to finish and try again.')
_ZERO_TIME = datetime.datetime(1, 1, 1)


def _timespan_text(seconds):
    """.NET TimeSpan.ToString(): ``hh:mm:ss.fffffff``."""
    whole = int(seconds)
    frac = int(round((seconds - whole) * 10 ** 7))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = '%02d:%02d:%02d' % (hours, minutes, secs)
    return text + ('.%07d' % frac if frac else '')


def _size_string(size):
    for unit in ('bytes', 'KB', 'MB', 'GB', 'TB'):
        if size < 1024 or unit == 'TB':
            return ('%d %s' % (size, unit)) if unit == 'bytes' else ('%.2f %s' % (size, unit))
        size /= 1024.0
    return str(size)


class Task(object):
    def __init__(self, task_id, backup_id, operation, extra=None):
        self.task_id = task_id
        self.backup_id = backup_id
        self.operation = operation
        self.extra = extra or {}
        self.started = None
        self.finished = None
        self.error = None


class EventCounter(object):
    """EventPollNotify: a counter long polls wait on."""

    def __init__(self):
        self.event_no = 0
        self.data_update_id = 0
        self._cond = threading.Condition()

    def signal(self, data_changed=False):
        with self._cond:
            self.event_no += 1
            if data_changed:
                self.data_update_id += 1
            self._cond.notify_all()

    def wait(self, last_id, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.event_no == last_id:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self.event_no


class TaskRunner(object):
    def __init__(self, db, run_duration=2.0, version='2.3.0.4 (Duplicati v2.3.0.4 - Stable)'):
        self.db = db
        self.version = version  # the Version of a result (BasicResults.Version)
        self.run_duration = float(run_duration)
        self.events = EventCounter()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self.queue = []
        self.current = None
        self.finished = {}
        self.planned = {}
        self.runs_started = 0
        self.runs_finished = 0
        self.paused = False
        self.pause_end = _ZERO_TIME
        self.transfers_paused = False
        self._restore_pause()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name='emulated-duplicati-tasks', daemon=True)
        self._thread.start()

    # -- pause / resume (LiveControls) -------------------------------------------------
    def _restore_pause(self):
        stored = self.db.get_setting('paused-until')
        try:
            ticks = int(stored)
        except (TypeError, ValueError):
            return
        if ticks == 0:
            self.paused, self.pause_end = True, _ZERO_TIME
        else:
            end = from_ticks(ticks)
            if end > utcnow() + datetime.timedelta(milliseconds=100):
                self.paused, self.pause_end = True, end

    def pause(self, seconds=None, transfers=False):
        with self._lock:
            self.transfers_paused = bool(transfers)
            self.pause_end = utcnow() + datetime.timedelta(seconds=seconds) if seconds else _ZERO_TIME
            self.paused = True
            self.db.set_settings(paused_until=str(to_ticks(self.pause_end)) if seconds else '0')
            self._wake.notify_all()
        self.events.signal()

    def resume(self):
        with self._lock:
            if not self.paused:
                return
            self.paused = False
            self.transfers_paused = False
            self.pause_end = _ZERO_TIME
            self.db.set_settings(paused_until=None)
            self._wake.notify_all()
        self.events.signal()

    def _check_pause_expiry(self):
        if self.paused and self.pause_end != _ZERO_TIME and utcnow() >= self.pause_end:
            self.paused = False
            self.transfers_paused = False
            self.pause_end = _ZERO_TIME
            self.db.set_settings(paused_until=None)
            self.events.signal()

    # -- queue ---------------------------------------------------------------------------
    def add(self, backup_id, operation, skip_queue=False, extra=None):
        with self._lock:
            task = Task(next(self._ids), backup_id, operation, extra)
            if skip_queue:
                self.queue.insert(0, task)
            else:
                self.queue.append(task)
            self._wake.notify_all()
        self.events.signal()
        return task.task_id

    def find_active_or_queued(self, backup_id):
        with self._lock:
            if self.current is not None and self.current.backup_id == backup_id:
                return self.current
            for task in self.queue:
                if task.backup_id == backup_id:
                    return task
        return None

    def snapshot(self):
        with self._lock:
            self._check_pause_expiry()
            return {
                'current': self.current,
                'queue': list(self.queue),
                'paused': self.paused,
                'pause_end': self.pause_end,
                'transfers_paused': self.transfers_paused,
            }

    def task_info(self, task_id):
        with self._lock:
            if self.current is not None and self.current.task_id == task_id:
                return 'Running', self.current
            for task in self.queue:
                if task.task_id == task_id:
                    return 'Waiting', task
            task = self.finished.get(task_id)
            if task is None:
                return None, None
            return ('Failed' if task.error else 'Completed'), task

    def plan_result(self, backup_id, result):
        if result not in RESULTS + (WORKER_ERROR,):
            raise ValueError('result must be one of %s' % ', '.join(RESULTS + (WORKER_ERROR,)))
        with self._lock:
            self.planned[str(backup_id)] = result

    def close(self):
        with self._lock:
            self._stop = True
            self._wake.notify_all()
        self._thread.join(timeout=5)

    def wait_idle(self, timeout=30):
        """Block until nothing is active or queued (for tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.current is None and not self.queue:
                    return True
            time.sleep(0.02)
        return False

    def _loop(self):
        while True:
            with self._lock:
                while not self._stop:
                    self._check_pause_expiry()
                    if self.queue and not self.paused:
                        break
                    self._wake.wait(0.1)
                if self._stop:
                    return
                task = self.queue.pop(0)
                self.current = task
                task.started = datetime.datetime.now()
                if task.operation == 'Backup':
                    self.runs_started += 1
            self.events.signal()
            try:
                if task.operation == 'Backup':
                    self._run_backup(task)
                elif task.operation == 'Delete':
                    self._run_delete(task)
            except Exception as exc:  # pylint: disable=broad-except
                task.error = str(exc)
                self.db.log_error(task.backup_id, 'Error in worker', 'System.Exception: %s' % exc)
            with self._lock:
                task.finished = datetime.datetime.now()
                self.current = None
                self.finished[task.task_id] = task
                if len(self.finished) > 100:
                    del self.finished[min(self.finished)]
                if task.operation == 'Backup':
                    self.runs_finished += 1
            self.events.signal(data_changed=True)

    def _sleep_active(self, seconds):
        """Active time; the clock stops while transfers are paused."""
        remaining = seconds
        while remaining > 0:
            with self._lock:
                if self._stop:
                    return
                halted = self.paused and self.transfers_paused
            step = min(0.05, remaining)
            time.sleep(step)
            if not halted:
                remaining -= step

    def _run_backup(self, task):
        backup = self.db.get_backup(task.backup_id)
        if backup is None:
            raise RuntimeError('Backup not found')
        with self._lock:
            outcome = self.planned.get(str(task.backup_id), 'Success')
        if outcome == WORKER_ERROR:
            raise RuntimeError(DATABASE_LOCKED)
        begin = utcnow()
        self._sleep_active(self.run_duration)
        end = utcnow()
        examined = 1200 + 37 * int(task.backup_id)
        size = examined * 48213
        warnings = ['2 files were locked and skipped'] if outcome == 'Warning' else []
        errors = ['Failed to upload dblock volume: the remote server refused the connection'] if outcome in ('Error', 'Fatal') else []
        result = {
            'DeletedFiles': 0, 'DeletedFolders': 0, 'ModifiedFiles': 3, 'ExaminedFiles': examined, 'OpenedFiles': 12,
            'AddedFiles': 5, 'SizeOfModifiedFiles': 4096, 'SizeOfAddedFiles': 81920, 'SizeOfExaminedFiles': size,
            'SizeOfOpenedFiles': 86016, 'NotProcessedFiles': 0, 'AddedFolders': 0, 'TooLargeFiles': 0, 'FilesWithError': len(errors),
            'ModifiedFolders': 0, 'ModifiedSymlinks': 0, 'AddedSymlinks': 0, 'DeletedSymlinks': 0, 'PartialBackup': False,
            'Dryrun': False, 'MainOperation': 'Backup', 'ParsedResult': outcome, 'Interrupted': False, 'Version': self.version,
            'EndTime': end.strftime('%Y-%m-%dT%H:%M:%S.%fZ'), 'BeginTime': begin.strftime('%Y-%m-%dT%H:%M:%S.%fZ'),
            'Duration': _timespan_text((end - begin).total_seconds()), 'MessagesActualLength': 0,
            'WarningsActualLength': len(warnings), 'ErrorsActualLength': len(errors), 'Messages': [], 'Warnings': warnings,
            'Errors': errors,
        }
        db_path = backup['DBPath']
        self.db.append_local_log(db_path, 'Backup', json.dumps(result))
        meta = {
            'LastBackupStarted': serialize_datetime(begin), 'LastBackupFinished': serialize_datetime(end),
            'LastBackupDuration': _timespan_text((end - begin).total_seconds()),
            'SourceFilesSize': str(size), 'SourceFilesCount': str(examined), 'SourceSizeString': _size_string(size),
        }
        if outcome != 'Fatal':
            count = int(self.db.get_metadata(task.backup_id).get('BackupListCount') or 0) + 1
            meta.update({'LastBackupDate': serialize_datetime(begin), 'BackupListCount': str(count),
                         'TargetFilesSize': str(size // 3), 'TargetFilesCount': str(count * 4),
                         'TargetSizeString': _size_string(size // 3)})
        else:
            meta.update({'LastErrorDate': serialize_datetime(end), 'LastErrorMessage': errors[0]})
        self.db.update_metadata(task.backup_id, meta)
        if outcome in ('Error', 'Fatal'):
            self.db.set_settings(unacked_error='True')
        elif outcome == 'Warning':
            self.db.set_settings(unacked_warning='True')
        if outcome == 'Fatal':
            raise RuntimeError(errors[0])

    def _run_delete(self, task):
        backup = self.db.get_backup(task.backup_id)
        if backup is None:
            raise RuntimeError('Backup not found')
        delete_local = task.extra.get('delete-local-db')
        self.db.delete_backup(task.backup_id)
        if delete_local is not None and delete_local.lower() == 'true' and os.path.exists(backup['DBPath']):
            os.unlink(backup['DBPath'])
