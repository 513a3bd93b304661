# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sqlite3

import pytest

from ansible_collections.duplicati.fleet.plugins.module_utils import server_database as sdb
from ansible_collections.duplicati.fleet.plugins.module_utils.errors import DuplicatiError
from ansible_collections.duplicati.fleet.tests.unit import vectors

KEY = 'long and good password'

JWT_CONFIG = {'Authority': 'https://duplicati', 'Audience': 'https://duplicati', 'SigningKey': 'c2lnbmluZy1rZXk=',
              'AccessTokenDurationInMinutes': 15, 'RefreshTokenDurationInMinutes': 43200, 'RequireRefreshNonce': True}

# The tables of Duplicati/Library/RestAPI/Database/Database schema/Schema.sql this reader touches.
SCHEMA = '''
CREATE TABLE "Option" ("BackupID" INTEGER NOT NULL, "Filter" TEXT NOT NULL, "Name" TEXT NOT NULL, "Value" TEXT NOT NULL);
CREATE TABLE "Version" ("ID" INTEGER PRIMARY KEY, "Version" INTEGER NOT NULL);
INSERT INTO "Version" ("Version") VALUES (12);
'''


def _make_db(path, options):
    conn = sqlite3.connect(str(path))
    conn.executescript(SCHEMA)
    conn.executemany('INSERT INTO "Option" ("BackupID", "Filter", "Name", "Value") VALUES (?, ?, ?, ?)', options)
    conn.commit()
    conn.close()


def _fingerprint(path):
    st = os.stat(str(path))
    with open(str(path), 'rb') as f:
        return f.read(), st.st_mtime_ns, st.st_size


@pytest.fixture
def plain_db(tmp_path):
    path = tmp_path / 'Duplicati-server.sqlite'
    _make_db(path, [
        (-2, '', 'jwt-config', json.dumps(JWT_CONFIG)),
        (-2, '', 'disable-signin-tokens', 'True'),
        (-2, '', 'server-ssl-certificate', ''),
        (-1, '', '--passphrase', 'app default'),
        (1, '', 'passphrase', 'backup option'),
    ])
    return path


def test_reads_server_settings_only(plain_db):
    settings = sdb.read_server_settings(str(plain_db))
    assert settings['disable-signin-tokens'] == 'True'
    assert '--passphrase' not in settings and 'passphrase' not in settings
    assert sdb.read_options(str(plain_db), sdb.APPLICATION_SETTINGS_ID) == {'--passphrase': 'app default'}
    assert sdb.read_jwt_config(str(plain_db)) == JWT_CONFIG
    auth = sdb.read_auth_settings(str(plain_db))
    assert auth == {'jwt_config': JWT_CONFIG, 'pbkdf_config': None, 'server_ssl_certificate': None,
                    'disable_signin_tokens': True, 'encrypted_fields': False}
    assert sdb.read_schema_version(str(plain_db)) == 12


def test_never_writes(plain_db):
    before = _fingerprint(plain_db)
    sdb.read_server_settings(str(plain_db))
    sdb.read_auth_settings(str(plain_db))
    sdb.read_schema_version(str(plain_db))
    assert _fingerprint(plain_db) == before
    assert sorted(os.listdir(str(plain_db.parent))) == ['Duplicati-server.sqlite']


def test_connection_refuses_writes(plain_db):
    with sdb.open_read_only(str(plain_db)) as conn:
        with pytest.raises(sqlite3.OperationalError):
            conn.execute('DELETE FROM "Option"')
    assert sdb.read_server_settings(str(plain_db))['disable-signin-tokens'] == 'True'


def test_read_only_file_and_folder_work(plain_db):
    before = _fingerprint(plain_db)
    os.chmod(str(plain_db), 0o400)
    os.chmod(str(plain_db.parent), 0o500)
    try:
        assert sdb.read_jwt_config(str(plain_db)) == JWT_CONFIG
    finally:
        os.chmod(str(plain_db.parent), 0o700)
        os.chmod(str(plain_db), 0o600)
    assert _fingerprint(plain_db) == before


def test_missing_database_is_an_error_and_not_created(tmp_path):
    path = tmp_path / 'Duplicati-server.sqlite'
    with pytest.raises(DuplicatiError) as err:
        sdb.read_server_settings(str(path))
    assert 'does not exist' in str(err.value)
    assert not path.exists()


def test_not_a_duplicati_database(tmp_path):
    path = tmp_path / 'other.sqlite'
    conn = sqlite3.connect(str(path))
    conn.execute('CREATE TABLE t (x)')
    conn.close()
    with pytest.raises(DuplicatiError) as err:
        sdb.read_server_settings(str(path))
    assert 'not a Duplicati server database' in str(err.value)
    garbage = tmp_path / 'garbage.sqlite'
    garbage.write_bytes(b'not sqlite at all' * 100)
    with pytest.raises(DuplicatiError):
        sdb.read_server_settings(str(garbage))


def test_invalid_jwt_config_json(tmp_path):
    path = tmp_path / 'db.sqlite'
    _make_db(path, [(-2, '', 'jwt-config', '{oops')])
    with pytest.raises(DuplicatiError) as err:
        sdb.read_jwt_config(str(path))
    assert 'jwt-config' in str(err.value) and 'not valid JSON' in str(err.value)


def test_parse_bool():
    assert sdb.parse_bool('True') is True and sdb.parse_bool(' yes ') is True and sdb.parse_bool('off') is False
    assert sdb.parse_bool('maybe', True) is True and sdb.parse_bool(None) is False


# --- enc-v1 ---------------------------------------------------------------------------------------

@pytest.fixture
def encrypted_db(tmp_path):
    from ansible_collections.duplicati.fleet.plugins.module_utils.encrypted_field import encrypt_field
    vector = vectors.load('enc_v1_duplicati.json')
    path = tmp_path / 'Duplicati-server.sqlite'
    _make_db(path, [
        (-2, '', 'jwt-config', encrypt_field(json.dumps(JWT_CONFIG), KEY)),
        (-2, '', 'server-ssl-certificate', encrypt_field('BASE64PFX', KEY)),
        (-2, '', 'remote-control-storage-api-key', vector['encrypted']),
        (-2, '', 'encrypted-fields', 'True'),
    ])
    return path, vector


def test_encrypted_values_decrypted_with_key(encrypted_db):
    path, vector = encrypted_db
    before = _fingerprint(path)
    settings = sdb.read_server_settings(str(path), settings_encryption_key=KEY)
    assert json.loads(settings['jwt-config']) == JWT_CONFIG
    assert settings['remote-control-storage-api-key'] == vector['plaintext']
    auth = sdb.read_auth_settings(str(path), KEY)
    assert auth['server_ssl_certificate'] == 'BASE64PFX' and auth['encrypted_fields'] is True
    assert _fingerprint(path) == before


def test_encrypted_without_key(encrypted_db):
    path, dummy = encrypted_db
    with pytest.raises(DuplicatiError) as err:
        sdb.read_jwt_config(str(path))
    assert 'the server database is encrypted but no settings encryption key was given (SETTINGS_ENCRYPTION_KEY)' in str(err.value)


def test_encrypted_with_wrong_key(encrypted_db):
    path, dummy = encrypted_db
    with pytest.raises(DuplicatiError) as err:
        sdb.read_jwt_config(str(path), 'another long key')
    assert 'does not match' in str(err.value)
