# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Realistic backups for a new emulated server (``--seed-backups N``).

Each has a name, description, tags, sources, a target URL whose query carries a
password (``auth-password``, as real S3/SFTP/WebDAV targets do), settings including
``passphrase`` and ``encryption-module``, filters, metadata of a past run, and a daily
or weekly schedule with allowed week days.
"""

import datetime

from .database import serialize_datetime, utcnow

_TEMPLATES = (
    ('Documents', 'Office documents and mail', ['office'], ['/home/alice/Documents/', '/home/alice/Mail/'],
     's3://backup-bucket/documents?s3-server-name=s3.eu-central-1.amazonaws.com&s3-location-constraint=eu-central-1'
     '&auth-username=AKIAEXAMPLE{n}&auth-password=s3cr3t-key-{n}', '1D', 'AllowedWeekDays=Monday,Tuesday,Wednesday,Thursday,Friday'),
    ('Photos', 'Camera uploads', ['media'], ['/srv/photos/'],
     'ssh://sftp.example.net:22/backups/photos?auth-username=backup&auth-password=sftp-pass-{n}'
     '&ssh-fingerprint=ssh-ed25519%20256%2012:34:56', '1W', 'AllowedWeekDays=Saturday'),
    ('Server config', 'etc and service data', ['server', 'critical'], ['/etc/', '/var/lib/app/'],
     'webdavs://dav.example.org/remote.php/webdav/cfg?auth-username=ops&auth-password=dav-pass-{n}', '1D', ''),
    ('Databases', 'Nightly dumps', ['db'], ['/var/backups/postgres/'],
     'b2://duplicati-db/dumps?auth-username=000b2id{n}&auth-password=b2-app-key-{n}', '1D', 'AllowedWeekDays=Sunday,Monday,Tuesday,'
     'Wednesday,Thursday,Friday,Saturday'),
)


def seed_backups(db, count):
    """Create ``count`` backups; returns their IDs."""
    ids = []
    now = utcnow().replace(microsecond=0)
    for index in range(count):
        name, description, tags, sources, url, repeat, rule = _TEMPLATES[index % len(_TEMPLATES)]
        number = index + 1
        if index >= len(_TEMPLATES):
            name = '%s %d' % (name, number)
        last = now - datetime.timedelta(hours=6 + index)
        backup = {
            'Name': name,
            'Description': description,
            'Tags': tags,
            'TargetURL': url.format(n=number),
            'Sources': sources,
            'Settings': [
                {'Filter': '', 'Name': 'encryption-module', 'Value': 'aes'},
                {'Filter': '', 'Name': 'compression-module', 'Value': 'zip'},
                {'Filter': '', 'Name': 'dblock-size', 'Value': '50mb'},
                {'Filter': '', 'Name': 'passphrase', 'Value': 'backup-passphrase-%d' % number},
                {'Filter': '', 'Name': 'retention-policy', 'Value': '1W:1D,4W:1W,12M:1M'},
                {'Filter': '', 'Name': '--exclude-files-attributes', 'Value': 'temporary,system'},
            ],
            'Filters': [{'Order': 0, 'Include': False, 'Expression': '*.tmp'},
                        {'Order': 1, 'Include': False, 'Expression': '[.*/cache/.*]'}],
            'Metadata': {
                'LastBackupDate': serialize_datetime(last), 'BackupListCount': str(5 + index),
                'TotalQuotaSpace': '0', 'FreeQuotaSpace': '0', 'AssignedQuotaSpace': '-1',
                'TargetFilesSize': str(734003200 + index * 1048576), 'TargetFilesCount': str(40 + index),
                'TargetFilesetsCount': str(5 + index), 'TargetSizeString': '700.00 MB',
                'SourceFilesSize': str(2147483648 + index), 'SourceFilesCount': str(15000 + index), 'SourceSizeString': '2.00 GB',
                'LastBackupStarted': serialize_datetime(last), 'LastBackupFinished': serialize_datetime(last + datetime.timedelta(minutes=3)),
                'LastBackupDuration': '00:03:12.4410000',
            },
        }
        schedule = {'Time': (now + datetime.timedelta(days=1)).replace(hour=2 + index % 4, minute=30, second=0),
                    'Repeat': repeat, 'LastRun': last, 'Rule': rule}
        ids.append(db.add_backup(backup, schedule))
    return ids
