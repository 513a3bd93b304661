# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated server's state: a real ``Duplicati-server.sqlite``
(``Duplicati/Library/RestAPI/Database/Connection.cs``, ``ServerSettings.cs``).

The file has the schema of the current master (``Library/RestAPI/Database/Database
schema/Schema.sql``, ``Version`` = 12), so a reader written for the real file works on
ours. Server settings live in ``Option`` at BackupID -2 and are written the way
``ServerSettings.SaveSettings`` writes them: every known setting name, unset ones as
``""``. With a settings encryption key the sensitive values (``jwt-config``,
``pbkdf-config``, password options, backup target URLs) are stored as ``enc-v1``
strings (``Connection._encryptedFields``, ``Duplicati/Library/Encryption/EncryptedFieldHelper.cs``) and ``encrypted-fields`` is ``True``.

Each backup's *local* database (``DBPath``) is a small SQLite file holding the
``LogData`` table of the real local database; ``GET backup/{id}/log`` reads it, as the
real server does.
"""

import datetime
import os
import secrets
import sqlite3
import threading
import time

from ..codecs import encrypted_field

SERVER_DATABASE_FILENAME = 'Duplicati-server.sqlite'
SCHEMA_VERSION = 12
SERVER_SETTINGS_ID = -2
ANY_BACKUP_ID = -1
PASSWORD_PLACEHOLDER = '*' * 15

# .NET DateTime ticks of the Unix epoch
_EPOCH_TICKS = 621355968000000000

_SERVER_SCHEMA = '''
CREATE TABLE "Backup" ("ID" INTEGER PRIMARY KEY AUTOINCREMENT, "Name" TEXT NOT NULL, "Description" TEXT NOT NULL DEFAULT '',
    "Tags" TEXT NOT NULL, "TargetURL" TEXT NOT NULL, "DBPath" TEXT NOT NULL, "ExternalID" TEXT NULL,
    "ConnectionStringID" INTEGER NOT NULL DEFAULT -1, "OperationType" TEXT NOT NULL DEFAULT 'Backup');
CREATE TABLE "Schedule" ("ID" INTEGER PRIMARY KEY, "Tags" TEXT NOT NULL, "Time" INTEGER NOT NULL, "Repeat" TEXT NOT NULL,
    "LastRun" INTEGER NOT NULL, "Rule" TEXT NOT NULL);
CREATE TABLE "Source" ("BackupID" INTEGER NOT NULL, "Path" TEXT NOT NULL);
CREATE TABLE "Filter" ("BackupID" INTEGER NOT NULL, "Order" INTEGER NOT NULL, "Include" INTEGER NOT NULL, "Expression" TEXT NOT NULL);
CREATE TABLE "Option" ("BackupID" INTEGER NOT NULL, "Filter" TEXT NOT NULL, "Name" TEXT NOT NULL, "Value" TEXT NOT NULL);
CREATE TABLE "Metadata" ("BackupID" INTEGER NOT NULL, "Name" TEXT NOT NULL, "Value" TEXT NOT NULL);
CREATE TABLE "Log" ("BackupID" INTEGER NOT NULL, "Description" TEXT NOT NULL, "Start" INTEGER NOT NULL, "Finish" INTEGER NOT NULL,
    "Result" TEXT NOT NULL, "SuggestedIcon" TEXT NOT NULL);
CREATE TABLE "ErrorLog" ("BackupID" INTEGER, "Message" TEXT NOT NULL, "Exception" TEXT, "Timestamp" INTEGER NOT NULL);
CREATE TABLE "Version" ("ID" INTEGER PRIMARY KEY, "Version" INTEGER NOT NULL);
CREATE TABLE "Notification" ("ID" INTEGER PRIMARY KEY, "Type" TEXT NOT NULL, "Title" TEXT NOT NULL, "Message" TEXT NOT NULL,
    "Exception" TEXT NOT NULL, "BackupID" TEXT NULL, "Action" TEXT NOT NULL, "Timestamp" INTEGER NOT NULL, "LogEntryID" TEXT NULL,
    "MessageID" TEXT NULL, "MessageLogTag" TEXT NULL);
CREATE TABLE "UIStorage" ("Scheme" TEXT NOT NULL, "Key" TEXT NOT NULL, "Value" TEXT NOT NULL);
CREATE TABLE "TempFile" ("ID" INTEGER PRIMARY KEY, "Origin" TEXT NOT NULL, "Path" TEXT NOT NULL, "Timestamp" INTEGER NOT NULL,
    "Expires" INTEGER NOT NULL);
CREATE TABLE "TokenFamily" ("ID" TEXT PRIMARY KEY, "UserId" TEXT NOT NULL, "Counter" INTEGER NOT NULL, "LastUpdated" INTEGER NOT NULL);
CREATE TABLE "ConnectionString" ("ID" INTEGER PRIMARY KEY AUTOINCREMENT, "Name" TEXT NOT NULL UNIQUE, "Description" TEXT NOT NULL DEFAULT '',
    "BaseUrl" TEXT NOT NULL, "CreatedAt" INTEGER NOT NULL, "UpdatedAt" INTEGER NOT NULL);
CREATE UNIQUE INDEX "IX_ConnectionString_Name" ON "ConnectionString" ("Name");
CREATE TABLE "BackupTargetUrl" ("ID" INTEGER PRIMARY KEY AUTOINCREMENT, "BackupID" INTEGER NOT NULL, "TargetUrlKey" TEXT NOT NULL,
    "TargetURL" TEXT NOT NULL, "Mode" TEXT NOT NULL DEFAULT 'inline', "Interval" TEXT NULL, "Options" TEXT NULL,
    "ConnectionStringID" INTEGER NOT NULL DEFAULT -1, "CreatedAt" INTEGER NOT NULL DEFAULT 0, "UpdatedAt" INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY ("BackupID") REFERENCES "Backup"("ID") ON DELETE CASCADE);
CREATE INDEX "IX_BackupTargetUrl_BackupID" ON "BackupTargetUrl" ("BackupID");
CREATE UNIQUE INDEX "IX_BackupTargetUrl_TargetUrlKey" ON "BackupTargetUrl" ("TargetUrlKey");
'''

# The local (per-backup) database: only what the log endpoints read (local Schema.sql, version 19)
_LOCAL_SCHEMA = '''
CREATE TABLE "Operation" ("ID" INTEGER PRIMARY KEY, "Description" TEXT NOT NULL, "Timestamp" INTEGER NOT NULL);
CREATE TABLE "LogData" ("ID" INTEGER PRIMARY KEY, "OperationID" INTEGER NOT NULL, "Timestamp" INTEGER NOT NULL, "Type" TEXT NOT NULL,
    "Message" TEXT NOT NULL, "Exception" TEXT NULL);
CREATE TABLE "RemoteOperation" ("ID" INTEGER PRIMARY KEY, "OperationID" INTEGER NOT NULL, "Timestamp" INTEGER NOT NULL,
    "Operation" TEXT NOT NULL, "Path" TEXT NOT NULL, "Data" BLOB NULL);
CREATE TABLE "Version" ("ID" INTEGER PRIMARY KEY, "Version" INTEGER NOT NULL);
INSERT INTO "Version" ("Version") VALUES (19);
'''

# ServerSettings.CONST: SaveSettings writes every one of them (unset ones as "")
SERVER_SETTING_NAMES = (
    'startup-delay', 'max-download-speed', 'max-upload-speed', 'last-webserver-port', 'is-first-run', 'server-port-changed',
    'server-passphrase', 'server-passphrase-salt', 'last-update-check', 'update-check-interval', 'update-check-latest',
    'unacked-error', 'unacked-warning', 'server-listen-interface', 'server-disable-https', 'server-ssl-certificate',
    'server-ssl-certificate-password', 'server-ca-certificate', 'server-ca-certificate-key', 'server-ca-certificate-password',
    'server-ssl-certificate-autogenerated', 'has-fixed-invalid-backup-id', 'update-channel', 'usage-reporter-level',
    'disable-tray-icon-login', 'allowed-hostnames', 'jwt-config', 'remote-control-config', 'remote-control-enabled',
    'pbkdf-config', 'autogenerated-passphrase', 'disable-signin-tokens', 'encrypted-fields', 'preload-settings-hash',
    'server-timezone', 'paused-until', 'last-update-check-version', 'additional-report-url', 'additional-activity-url',
    'backup-list-sort-order', 'disable-api-extensions', 'power-mode-provider', 'disable-console-control',
    'remote-control-dashboard-url', 'remote-control-storage-api-id', 'remote-control-storage-api-key',
    'remote-control-storage-endpoint-url', 'client-license-key', 'enable-folder-status-service',
    'use-out-of-process-controller', 'shown-welcome-page-v1',
)

# Connection._encryptedFields: the Password-type options of all modules (with and without
# "--") plus the sensitive server keys. The module list here holds the options this
# emulator's backups use and the common backend secrets.
_PASSWORD_OPTIONS = (
    'passphrase', 'new-passphrase', 'auth-password', 'auth-two-factor-key', 'secret-provider', 'settings-encryption-key',
    'webservice-password', 'webservice-password-init', 'aws-secret-access-key', 's3-aws-secret-access-key', 'b2-accountkey',
    'ssh-key', 'ssh-keyfile-password', 'storj-secret', 'cos-secret-key', 'oss-access-key-secret', 'azure-access-key',
    'azure-access-sas-token', 'gcs-service-account-json', 'googledrive-service-account-json', 'authid', 'api-key',
)
PASSWORD_FIELD_NAMES = frozenset(
    [n for name in _PASSWORD_OPTIONS for n in (name, '--' + name)]
    + ['jwt-config', 'pbkdf-config', 'remote-control-config', 'server-ssl-certificate', 'server-ssl-certificate-password',
       'server-ca-certificate-key', 'server-ca-certificate-password', 'remote-control-storage-api-key', 'client-license-key'])


def is_password_field(name):
    return (name or '').lower() in PASSWORD_FIELD_NAMES


def to_ticks(moment):
    """A UTC datetime as .NET DateTime ticks."""
    delta = moment - datetime.datetime(1970, 1, 1)
    return _EPOCH_TICKS + (delta.days * 86400 + delta.seconds) * 10 ** 7 + delta.microseconds * 10


def from_ticks(ticks):
    return datetime.datetime(1, 1, 1) + datetime.timedelta(microseconds=int(ticks) // 10)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def from_epoch(seconds):
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=int(seconds))


def to_epoch(moment):
    return int((moment - datetime.datetime(1970, 1, 1)).total_seconds())


def serialize_datetime(moment):
    """``Utility.SerializeDateTime``: ``yyyyMMdd'T'HHmmssK`` in UTC."""
    return moment.strftime('%Y%m%dT%H%M%SZ')


class EncryptionKeyError(Exception):
    pass


class FieldCipher(object):
    """enc-v1 field encryption of the server database (``EncryptedFieldHelper``, the emulator's
    own ``codecs.encrypted_field``) with the ``--settings-encryption-key``."""

    def __init__(self, key):
        self.key = encrypted_field.KeyInstance(key) if key else None

    @property
    def enabled(self):
        return self.key is not None

    def encrypt(self, value):
        if not self.enabled or value is None:
            return value
        return encrypted_field.encrypt(value, self.key)

    def decrypt(self, value):
        if value is None or not value.startswith(encrypted_field.HEADER_PREFIX):
            return value
        if not self.enabled:
            raise EncryptionKeyError('The database holds encrypted fields but no settings encryption key was given')
        try:
            return encrypted_field.decrypt(value, self.key)
        except encrypted_field.KeyMismatchError as exc:
            raise EncryptionKeyError(str(exc))


class ServerDatabase(object):
    """The server database plus the local databases of the backups. Thread-safe."""

    def __init__(self, data_folder, encryption_key=None):
        self.data_folder = os.path.abspath(data_folder)
        os.makedirs(self.data_folder, mode=0o700, exist_ok=True)
        self.path = os.path.join(self.data_folder, SERVER_DATABASE_FILENAME)
        self.cipher = FieldCipher(encryption_key)
        self.lock = threading.RLock()
        existed = os.path.exists(self.path)
        if not existed:
            # the real file holds secrets: owner-only from the start
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if not existed:
            with self.transaction() as cur:
                cur.executescript('BEGIN;' + _SERVER_SCHEMA + 'INSERT INTO "Version" ("Version") VALUES (%d); COMMIT;' % SCHEMA_VERSION)
        version = self.conn.execute('SELECT "Version" FROM "Version" ORDER BY "ID" DESC LIMIT 1').fetchone()
        if not version or version[0] != SCHEMA_VERSION:
            raise RuntimeError('%s has schema version %r; this emulator writes version %d' % (self.path, version, SCHEMA_VERSION))
        self.settings = {}
        self.reload_settings()
        was_encrypted = self.settings.get('encrypted-fields') == 'True'
        if was_encrypted != self.cipher.enabled:
            # Connection.ReWriteAllFieldsIfEncryptionChanged
            self._rewrite_encrypted_fields()

    # -- plumbing ---------------------------------------------------------------------
    class _Tx(object):
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            self.db.lock.acquire()
            return self.db.conn.cursor()

        def __exit__(self, *exc):
            self.db.lock.release()
            return False

    def transaction(self):
        return self._Tx(self)

    def _write(self, statements):
        """Run (sql, params) pairs in one transaction; returns the row count of the last one."""
        with self.lock:
            cur = self.conn.cursor()
            cur.execute('BEGIN IMMEDIATE')
            count = 0
            try:
                for sql, params in statements:
                    cur.execute(sql, params)
                    count = cur.rowcount
                cur.execute('COMMIT')
            except Exception:
                cur.execute('ROLLBACK')
                raise
            return count

    def close(self):
        with self.lock:
            self.conn.close()

    # -- server settings (Option, BackupID -2) ----------------------------------------
    def reload_settings(self):
        with self.lock:
            self.settings = dict((name, None) for name in SERVER_SETTING_NAMES)
            for name, value in self.conn.execute('SELECT "Name", "Value" FROM "Option" WHERE "BackupID" = ?', (SERVER_SETTINGS_ID,)):
                self.settings[name] = self.cipher.decrypt(value)

    def save_settings(self):
        rows = []
        for name, value in self.settings.items():
            if value is not None and is_password_field(name):
                value = self.cipher.encrypt(value)
            rows.append(('INSERT INTO "Option" ("BackupID", "Filter", "Name", "Value") VALUES (?, \'\', ?, ?)',
                         (SERVER_SETTINGS_ID, name, value if value is not None else '')))
        self._write([('DELETE FROM "Option" WHERE "BackupID" = ?', (SERVER_SETTINGS_ID,))] + rows)

    def get_setting(self, name):
        with self.lock:
            return self.settings.get(name)

    def set_settings(self, **values):
        """Set settings by name (underscores stand for dashes) and save them all."""
        with self.lock:
            for name, value in values.items():
                self.settings[name.replace('_', '-')] = value
            self.save_settings()

    def _rewrite_encrypted_fields(self):
        with self.lock:
            for backup_id, in self.conn.execute('SELECT "ID" FROM "Backup"').fetchall():
                stored = self.conn.execute('SELECT "TargetURL" FROM "Backup" WHERE "ID" = ?', (backup_id,)).fetchone()[0]
                url = self.cipher.decrypt(stored) if self.cipher.enabled else FieldCipher(None).decrypt(stored)
                options = [(f, n, self.cipher.decrypt(v)) for f, n, v in self.conn.execute(
                    'SELECT "Filter", "Name", "Value" FROM "Option" WHERE "BackupID" = ?', (backup_id,))]
                statements = [('UPDATE "Backup" SET "TargetURL" = ? WHERE "ID" = ?', (self.cipher.encrypt(url), backup_id)),
                              ('DELETE FROM "Option" WHERE "BackupID" = ?', (backup_id,))]
                for flt, name, value in options:
                    if is_password_field(name):
                        value = self.cipher.encrypt(value)
                    statements.append(('INSERT INTO "Option" ("BackupID", "Filter", "Name", "Value") VALUES (?, ?, ?, ?)',
                                       (backup_id, flt, name, value)))
                self._write(statements)
            self.settings['encrypted-fields'] = str(self.cipher.enabled)
            self.save_settings()
            self.conn.execute('VACUUM')

    # -- token families ---------------------------------------------------------------
    def create_token_family(self, user_id):
        family_id = secrets.token_hex(8).upper()
        counter = secrets.randbelow(1024)
        now = utcnow()
        self._write([('INSERT INTO "TokenFamily" ("Id", "UserId", "Counter", "LastUpdated") VALUES (?, ?, ?, ?)',
                      (family_id, user_id, counter, to_ticks(now)))])
        return {'Id': family_id, 'UserId': user_id, 'Counter': counter, 'LastUpdated': now}

    def get_token_family(self, user_id, family_id):
        with self.lock:
            row = self.conn.execute('SELECT "Id", "UserId", "Counter", "LastUpdated" FROM "TokenFamily" WHERE "Id" = ? AND "UserId" = ?',
                                    (family_id, user_id)).fetchone()
        if row is None:
            return None
        return {'Id': row[0], 'UserId': row[1], 'Counter': row[2], 'LastUpdated': from_ticks(row[3])}

    def increment_token_family(self, family):
        now = utcnow()
        cur = self._write([('UPDATE "TokenFamily" SET "Counter" = ?, "LastUpdated" = ? WHERE "Id" = ? AND "UserId" = ? AND "Counter" = ?',
                            (family['Counter'] + 1, to_ticks(now), family['Id'], family['UserId'], family['Counter']))])
        if cur != 1:
            return None
        return dict(family, Counter=family['Counter'] + 1, LastUpdated=now)

    def invalidate_token_family(self, user_id, family_id):
        return self._write([('DELETE FROM "TokenFamily" WHERE "Id" = ? AND "UserId" = ?', (family_id, user_id))])

    def delete_all_token_families(self):
        self._write([('DELETE FROM "TokenFamily"', ())])

    def count_token_families(self):
        with self.lock:
            return self.conn.execute('SELECT COUNT(*) FROM "TokenFamily"').fetchone()[0]

    # -- backups ------------------------------------------------------------------------
    def resolve_db_path(self, db_path):
        if not db_path or os.path.isabs(db_path):
            return db_path or ''
        return os.path.normpath(os.path.join(self.data_folder, db_path))

    def relative_db_path(self, db_path):
        if not db_path or not os.path.isabs(db_path):
            return db_path or ''
        full = os.path.normpath(db_path)
        prefix = self.data_folder.rstrip(os.sep) + os.sep
        return full[len(prefix):] if full.startswith(prefix) else db_path

    def backup_ids(self):
        with self.lock:
            return [str(r[0]) for r in self.conn.execute('SELECT "ID" FROM "Backup"')]

    def list_backups(self):
        """Connection.Backups: the Backup rows plus Metadata (no sources, settings or filters)."""
        with self.lock:
            rows = self.conn.execute('SELECT "ID", "Name", "ExternalID", "Description", "Tags", "TargetURL", "DBPath", "OperationType" '
                                     'FROM "Backup"').fetchall()
            result = []
            for row in rows:
                result.append({
                    'ID': str(row[0]), 'Name': row[1], 'ExternalID': row[2], 'Description': row[3],
                    'Tags': [t for t in (row[4] or '').split(',') if t], 'TargetURL': self.cipher.decrypt(row[5]),
                    'DBPath': self.resolve_db_path(row[6]), 'OperationType': row[7] or 'Backup',
                    'Metadata': self.get_metadata(row[0]),
                })
            return result

    def get_backup(self, backup_id):
        """Connection.GetBackup(long) with LoadChildren, or None. ExternalID is not read (as in the real query)."""
        try:
            lid = int(backup_id)
        except (TypeError, ValueError):
            return None
        with self.lock:
            row = self.conn.execute('SELECT "ID", "Name", "Description", "Tags", "TargetURL", "DBPath", "OperationType" '
                                    'FROM "Backup" WHERE ID = ?', (lid,)).fetchone()
            if row is None:
                return None
            return {
                'ID': str(row[0]), 'ExternalID': None, 'Name': row[1], 'Description': row[2],
                'Tags': [t for t in (row[3] or '').split(',') if t], 'TargetURL': self.cipher.decrypt(row[4]),
                'DBPath': self.resolve_db_path(row[5]), 'ConnectionStringID': -1, 'OperationType': row[6] or 'Backup',
                'Sources': [self.cipher.decrypt(r[0]) for r in self.conn.execute('SELECT "Path" FROM "Source" WHERE "BackupID" = ?', (lid,))],
                'Settings': [{'Filter': r[0], 'Name': r[1], 'Value': self.cipher.decrypt(r[2]), 'Argument': None}
                             for r in self.conn.execute('SELECT "Filter", "Name", "Value" FROM "Option" WHERE "BackupID" = ?', (lid,))],
                'Filters': [{'Order': r[0], 'Include': bool(r[1]), 'Expression': r[2]} for r in self.conn.execute(
                    'SELECT "Order", "Include", "Expression" FROM "Filter" WHERE "BackupID" = ? ORDER BY "Order"', (lid,))],
                'Metadata': self.get_metadata(lid),
                'AdditionalTargetURLs': [],
                'IsTemporary': False,
            }

    def get_metadata(self, backup_id):
        with self.lock:
            return dict(self.conn.execute('SELECT "Name", "Value" FROM "Metadata" WHERE "BackupID" = ?', (int(backup_id),)).fetchall())

    def update_metadata(self, backup_id, values):
        meta = self.get_metadata(backup_id)
        meta.update(values)
        self._write([('DELETE FROM "Metadata" WHERE "BackupID" = ?', (int(backup_id),))]
                    + [('INSERT INTO "Metadata" ("BackupID", "Name", "Value") VALUES (?, ?, ?)', (int(backup_id), k, v))
                       for k, v in meta.items()])

    def schedules(self):
        with self.lock:
            rows = self.conn.execute('SELECT "ID", "Tags", "Time", "Repeat", "LastRun", "Rule" FROM "Schedule"').fetchall()
        return [_schedule(row) for row in rows]

    def schedule_for(self, backup_id):
        tag = 'ID=%s' % backup_id
        for schedule in self.schedules():
            if tag in schedule['Tags']:
                return schedule
        return None

    def add_backup(self, backup, schedule=None):
        """Connection.AddOrUpdateBackup for a new backup; returns the new ID as a string."""
        db_path = backup.get('DBPath')
        if not db_path:
            for dummy in range(100):
                guess = ''.join(secrets.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ') for dummy in range(10)) + '.sqlite'
                if not os.path.exists(os.path.join(self.data_folder, guess)):
                    db_path = guess
                    break
        with self.lock:
            cur = self.conn.cursor()
            cur.execute('BEGIN IMMEDIATE')
            try:
                cur.execute('INSERT INTO "Backup" ("Name", "ExternalID", "Description", "Tags", "TargetURL", "DBPath", "OperationType") '
                            'VALUES (?, ?, ?, ?, ?, ?, ?)',
                            (backup['Name'], backup.get('ExternalID') or '', backup.get('Description') or '',
                             ','.join(backup.get('Tags') or []), self.cipher.encrypt(backup['TargetURL']),
                             self.relative_db_path(db_path), backup.get('OperationType') or 'Backup'))
                new_id = cur.lastrowid
                for path in backup.get('Sources') or []:
                    stored = self.cipher.encrypt(path) if path.startswith('@') and '|' in path else path
                    cur.execute('INSERT INTO "Source" ("BackupID", "Path") VALUES (?, ?)', (new_id, stored))
                for setting in backup.get('Settings') or []:
                    value = setting.get('Value') or ''
                    if is_password_field(setting.get('Name')):
                        value = self.cipher.encrypt(value)
                    cur.execute('INSERT INTO "Option" ("BackupID", "Filter", "Name", "Value") VALUES (?, ?, ?, ?)',
                                (new_id, setting.get('Filter') or '', setting.get('Name') or '', value))
                for flt in backup.get('Filters') or []:
                    cur.execute('INSERT INTO "Filter" ("BackupID", "Order", "Include", "Expression") VALUES (?, ?, ?, ?)',
                                (new_id, int(flt.get('Order') or 0), 1 if flt.get('Include') else 0, flt.get('Expression') or ''))
                for name, value in (backup.get('Metadata') or {}).items():
                    cur.execute('INSERT INTO "Metadata" ("BackupID", "Name", "Value") VALUES (?, ?, ?)', (new_id, name, value))
                if schedule is not None:
                    cur.execute('INSERT INTO "Schedule" ("Tags", "Time", "Repeat", "LastRun", "Rule") VALUES (?, ?, ?, ?, ?)',
                                ('ID=%d' % new_id, to_epoch(schedule['Time']), schedule.get('Repeat') or '',
                                 to_epoch(schedule.get('LastRun') or datetime.datetime(1970, 1, 1)), schedule.get('Rule') or ''))
                cur.execute('COMMIT')
            except Exception:
                cur.execute('ROLLBACK')
                raise
        return str(new_id)

    def delete_backup(self, backup_id):
        lid = int(backup_id)
        statements = [('DELETE FROM "Schedule" WHERE \',\' || "Tags" || \',\' LIKE ?', ('%%,ID=%d,%%' % lid,))]
        for table in ('ErrorLog', 'Filter', 'Log', 'Metadata', 'Option', 'Source', 'BackupTargetUrl'):
            statements.append(('DELETE FROM "%s" WHERE "BackupID" = ?' % table, (lid,)))
        statements.append(('DELETE FROM "Backup" WHERE "ID" = ?', (lid,)))
        self._write(statements)

    def log_error(self, backup_id, message, exception=None):
        self._write([('INSERT INTO "ErrorLog" ("BackupID", "Message", "Exception", "Timestamp") VALUES (?, ?, ?, ?)',
                      (backup_id, message, exception, int(time.time())))])

    # -- the backups' local databases ---------------------------------------------------
    def append_local_log(self, db_path, operation, message_json):
        """Write an Operation and its "Result" LogData row into the backup's local database."""
        created = not os.path.exists(db_path)
        if created:
            os.makedirs(os.path.dirname(db_path) or '.', exist_ok=True)
            os.close(os.open(db_path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(db_path, isolation_level=None)
        try:
            if created or not conn.execute("SELECT name FROM sqlite_master WHERE name = 'LogData'").fetchone():
                conn.executescript(_LOCAL_SCHEMA)
            now = int(time.time())
            cur = conn.cursor()
            cur.execute('BEGIN IMMEDIATE')
            cur.execute('INSERT INTO "Operation" ("Description", "Timestamp") VALUES (?, ?)', (operation, now))
            cur.execute('INSERT INTO "LogData" ("OperationID", "Timestamp", "Type", "Message", "Exception") VALUES (?, ?, ?, ?, NULL)',
                        (cur.lastrowid, now, 'Result', message_json))
            cur.execute('COMMIT')
        finally:
            conn.close()

    @staticmethod
    def read_local_table(db_path, table, offset, pagesize):
        """LogData.DumpTable: newest first, ``ID < offset`` when given, page size clamped to 10..500."""
        if not os.path.exists(db_path):
            return []
        pagesize = max(10, min(500, pagesize))
        conn = sqlite3.connect(db_path)
        try:
            sql = 'SELECT * FROM "%s"' % table
            params = ()
            if offset is not None:
                sql += ' WHERE "ID" < ?'
                params = (offset,)
            sql += ' ORDER BY "ID" DESC LIMIT %d' % pagesize
            cur = conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            conn.close()


def _schedule(row):
    rule = row[5] or ''
    days = None
    for part in rule.split(';'):
        if part.lower().startswith('allowedweekdays='):
            days = [d for d in part[len('AllowedWeekDays='):].split(',') if d]
            break
    return {'ID': row[0], 'Tags': [t for t in (row[1] or '').split(',') if t], 'Time': from_epoch(row[2]), 'Repeat': row[3],
            'LastRun': from_epoch(row[4]), 'Rule': rule, 'AllowedDays': days}
