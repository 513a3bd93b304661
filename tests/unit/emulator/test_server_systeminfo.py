# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``GET /api/v1/systeminfo`` and ``/systeminfo/filtergroups`` of the emulated server.

Sources: ``WebserverCore/Endpoints/V1/SystemInfo.cs``, ``Dto/SystemInfoDto.cs``,
``Services/SystemInfoProvider.cs``, ``Library/Utility/FilterGroups.cs``.
"""

import json
import os
import re
import time

import pytest

from ansible_collections.duplicati.fleet.tests.emulator.server import systeminfo
from ansible_collections.duplicati.fleet.tests.emulator.server.testing import running_server

PW = 'pw-for-systeminfo'

# SystemInfoDto.cs, in declaration order (System.Text.Json writes properties in that order)
DTO_FIELDS = [
    'APIVersion', 'PasswordPlaceholder', 'ServerVersion', 'ServerVersionName', 'ServerVersionType', 'RemoteControlRegistrationUrl',
    'RemoteControlDashboardUrl', 'StartedBy', 'DefaultUpdateChannel', 'DefaultUsageReportLevel', 'ServerTime', 'ServerTimeZone', 'OSType',
    'OSVersion', 'DirectorySeparator', 'PathSeparator', 'CaseSensitiveFilesystem', 'MachineName', 'PackageTypeId', 'UserName', 'NewLine',
    'CLRVersion', 'Options', 'ServerOnlyOptions', 'CompressionModules', 'EncryptionModules', 'BackendModules', 'GenericModules',
    'WebModules', 'ConnectionModules', 'SourceProviderModules', 'RestoreDestinationProviderModules', 'ServerModules',
    'SecretProviderModules', 'UsingAlternateUpdateURLs', 'LogLevels', 'SpecialFolders', 'BrowserLocale', 'SupportedLocales',
    'BrowserLocaleSupported', 'TimeZones', 'APIExtensions', 'APIScopes', 'DefaultOAuthURL', 'DefaultOAuthURLv2', 'PowerModeProviders',
    'LocalLicenseStatus', 'RemoteLicenseStatus',
]
# ICommandLineArgument.cs and Server.Serialization IDynamicModule.cs: the declared (interface) properties
ARGUMENT_FIELDS = ['Aliases', 'LongDescription', 'Name', 'ShortDescription', 'Type', 'ValidValues', 'DefaultValue', 'Typename',
                   'Deprecated', 'DeprecationMessage']
MODULE_FIELDS = ['Key', 'Description', 'DisplayName', 'Options', 'Lookups', 'IsDeprecated', 'IsUntested']
ENV_NAMES = ('DO_NOT_TRACK', 'USAGEREPORTER_Duplicati_LEVEL', 'AUTOUPDATER_Duplicati_CHANNEL', 'AUTOUPDATER_Duplicati_URLS',
             'DUPLICATI_REMOTE_CONTROL_URL', 'DUPLICATI_DASHBOARD_URL', 'DUPLICATI_OAUTH_SERVICE', 'FILESYSTEM_CASE_SENSITIVE')


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def _info(srv, headers=None):
    auth = srv.bearer(PW)
    auth.update(headers or {})
    reply = srv.request('GET', '/api/v1/systeminfo', headers=auth)
    assert reply.status == 200, reply.body
    return reply


def test_both_endpoints_require_authorization():
    # SystemInfo.cs: MapGet("/systeminfo", ...).RequireAuthorization(), likewise "/systeminfo/filtergroups"
    with running_server('--webservice-password', PW) as srv:
        for path in ('/api/v1/systeminfo', '/api/v1/systeminfo/filtergroups'):
            reply = srv.request('GET', path)
            assert reply.status == 401 and reply.body == b''
            assert reply.header('WWW-Authenticate') == 'Bearer'
            bad = srv.request('GET', path, headers={'Authorization': 'Bearer not-a-token'})
            assert bad.status == 401 and bad.header('WWW-Authenticate') == 'Bearer error="invalid_token"'
        # a PreAuth token authenticates like a login
    with running_server('--webservice-password', PW, '--webservice-pre-auth-tokens', 'fleet_pre_auth_0123') as srv:
        reply = srv.request('GET', '/api/v1/systeminfo', headers={'Authorization': 'PreAuth fleet_pre_auth_0123'})
        assert reply.status == 200 and reply.json()['APIVersion'] == 1
        assert srv.request('POST', '/api/v1/systeminfo', headers={'Authorization': 'PreAuth fleet_pre_auth_0123'}).status == 405


def test_every_dto_field_in_declaration_order_with_real_values():
    with running_server('--webservice-password', PW) as srv:
        reply = _info(srv)
    assert reply.header('Content-Type') == 'application/json; charset=utf-8'
    info = reply.json()
    assert list(info) == DTO_FIELDS
    # SystemInfoProvider.CreateStaticSystemInformation
    assert info['APIVersion'] == 1
    assert info['PasswordPlaceholder'] == '***************'  # Connection.PASSWORD_PLACEHOLDER
    # manifest Version / ReleaseType (lower case) and VersionNumbers.VERSION_NAME = "<version> - <VersionTag.txt>"
    assert info['ServerVersion'] == '2.3.0.4'
    assert info['ServerVersionType'] == 'stable'
    assert info['ServerVersionName'] == '2.3.0.4 - 2.3.0.4_stable_2026-07-09'
    assert info['StartedBy'] == 'Server'  # ApplicationSettings.Origin default
    assert info['RemoteControlRegistrationUrl'] == 'https://api.duplicati.com/remotecontrol/register'
    assert info['RemoteControlDashboardUrl'] == 'https://app.duplicati.com/app/machines'
    assert info['DefaultUpdateChannel'] == 'Stable' and info['DefaultUsageReportLevel'] == 'Information'
    assert info['OSType'] == 'Linux'  # UpdaterManager.OperatingSystemName
    assert info['OSVersion'] and info['OSVersion'] == systeminfo.platform_string()
    assert info['DirectorySeparator'] == '/' and info['PathSeparator'] == ':' and info['NewLine'] == '\n'
    assert info['CaseSensitiveFilesystem'] is True  # ParseBool(FILESYSTEM_CASE_SENSITIVE, IsLinux)
    assert info['MachineName'] and '.' not in info['MachineName']
    assert info['UserName'] == systeminfo.user_name() and info['UserName']
    assert re.match(r'^linux-(x64|arm64|arm7)-cli\.deb$', info['PackageTypeId'])
    assert info['CLRVersion'] == '10.0.0'  # 2.3.0.4 targets net10.0
    assert info['LogLevels'] == ['ExplicitOnly', 'Profiling', 'Verbose', 'Retry', 'Information', 'DryRun', 'Warning', 'Error']
    assert info['APIScopes'] == ['*']
    assert info['DefaultOAuthURL'] == 'https://duplicati-oauth-handler.appspot.com/refresh'
    assert info['DefaultOAuthURLv2'] == 'https://oauth-service.duplicati.com/refresh'
    assert info['PowerModeProviders'] == ['', 'None']  # not Windows: [string.Empty, None]
    assert info['UsingAlternateUpdateURLs'] is False
    unlicensed = {'IsConfigured': False, 'IsValid': False, 'IsInGracePeriod': False, 'ExpiresAt': None, 'ExpiresWithGraceAt': None,
                  'Features': None}
    assert info['LocalLicenseStatus'] == unlicensed and info['RemoteLicenseStatus'] == unlicensed
    assert info['ServerModules'] == []
    assert info['APIExtensions'] == list(systeminfo.SUPPORTED_API_EXTENSIONS) and 'v1:websocket' in info['APIExtensions']
    assert len(info['APIExtensions']) == 26


def test_wire_text_chars_and_local_server_time():
    with running_server('--webservice-password', PW) as srv:
        before = time.time()
        body = _info(srv).body.decode('utf-8')
        after = time.time()
    # char properties are JSON strings; DateTime.Now is a local time with its offset
    assert '"DirectorySeparator":"/","PathSeparator":":"' in body
    assert '"NewLine":"\\n"' in body
    server_time = json.loads(body)['ServerTime']
    match = re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?[+-]\d\d:\d\d$', server_time)
    assert match, server_time
    import datetime
    moment = datetime.datetime.fromisoformat(server_time).timestamp()
    assert before - 1 <= moment <= after + 1


def test_command_line_arguments_and_modules_have_the_interface_shape():
    with running_server('--webservice-password', PW) as srv:
        info = _info(srv).json()
    arguments = list(info['Options']) + list(info['ServerOnlyOptions'])
    for module_list in ('CompressionModules', 'EncryptionModules', 'BackendModules'):
        assert info[module_list], module_list
        for entry in info[module_list]:
            assert list(entry) == MODULE_FIELDS
            assert entry['Lookups'] is None and entry['IsDeprecated'] is False
            arguments.extend(entry['Options'])
    for entry in arguments:
        assert list(entry) == ARGUMENT_FIELDS
        assert entry['Typename'] == entry['Type'] and entry['Type'] in systeminfo._TYPES  # enum as its name
        if entry['Type'] == 'Boolean':
            assert entry['DefaultValue'] in ('false', 'true')
    dblock = next(a for a in info['Options'] if a['Name'] == 'dblock-size')
    assert dblock['Aliases'] == ['remote-volume-size'] and dblock['DefaultValue'] == '50mb' and dblock['Type'] == 'Size'
    passphrase = next(a for a in info['Options'] if a['Name'] == 'passphrase')
    assert passphrase['Type'] == 'Password' and passphrase['DefaultValue'] == '' and passphrase['ValidValues'] is None
    # DuplicatiWebserver.ServerOnlyOptions: store-task-config, Enumeration of StoreTaskConfigMode, default Auto
    (store,) = info['ServerOnlyOptions']
    assert store['Name'] == 'store-task-config' and store['DefaultValue'] == 'Auto' and store['Type'] == 'Enumeration'
    assert store['ValidValues'][:4] == ['Auto', 'None', 'Self', 'All'] and len(store['ValidValues']) == 8
    assert [m['Key'] for m in info['CompressionModules']] == ['zip'] and info['EncryptionModules'][0]['Key'] == 'aes'


@pytest.mark.parametrize('header, code, supported', [
    ('12, de-DE;q=0.9, en;q=0.8', 'de-DE', True),      # "12" fails CI_MATCHER: next by quality
    ('en;q=0.5, sv-SE', 'sv-SE', True),                 # highest quality first, not header order
    ('*, 1-2', '', False),                              # nothing parses: the invariant culture, not supported
    (None, '', False),
])
def test_browser_locale_from_accept_language(header, code, supported):
    # LanguageService.GetLanguage: Accept-Language ordered by quality, first culture ParseCulture accepts
    with running_server('--webservice-password', PW) as srv:
        info = _info(srv, {'Accept-Language': header} if header else None).json()
    assert info['BrowserLocale']['Code'] == code
    assert info['BrowserLocaleSupported'] is supported
    if not code:
        assert info['BrowserLocale'] == {'Code': '', 'EnglishName': 'Invariant Language (Invariant Country)',
                                         'DisplayName': 'Invariant Language (Invariant Country)'}
    codes = [loc['Code'] for loc in info['SupportedLocales']]
    assert codes == sorted(codes) and 'en' in codes  # OrderBy(Name), "en" always added
    assert all(list(loc) == ['Code', 'EnglishName', 'DisplayName'] for loc in info['SupportedLocales'])


def test_native_names_are_escaped_like_system_text_json():
    with running_server('--webservice-password', PW) as srv:
        body = _info(srv, {'Accept-Language': 'zh-CN'}).body
    assert b'"DisplayName":"\\u4E2D\\u6587 (\\u4E2D\\u56FD)"' in body


def test_disabled_api_extensions_are_left_out_and_stored(tmp_path):
    # Program.cs: --webservice-disable-api-extensions split on , and ; into the disable-api-extensions setting
    folder = str(tmp_path / 'data')
    with running_server('--webservice-password', PW, '--server-datafolder', folder,
                        '--webservice-disable-api-extensions', ' v1:websocket ; v2:backup:search,,') as srv:
        info = _info(srv).json()
        assert srv.app.db.get_setting('disable-api-extensions') == 'v1:websocket,v2:backup:search'
    assert 'v1:websocket' not in info['APIExtensions'] and 'v2:backup:search' not in info['APIExtensions']
    assert len(info['APIExtensions']) == 24
    # the setting survives a restart without the option
    with running_server('--webservice-password', PW, '--server-datafolder', folder) as srv:
        assert 'v1:websocket' not in _info(srv).json()['APIExtensions']


def test_emulated_release_and_origin_options():
    with running_server('--webservice-password', PW, '--server-version', '2.1.0.5', '--started-by', 'Agent') as srv:
        info = _info(srv).json()
    assert info['ServerVersion'] == '2.1.0.5' and info['ServerVersionName'] == '2.1.0.5 - 2.1.0.5_stable_2025-03-04'
    assert info['CLRVersion'] == '8.0.0'  # v2.1.0.5 Duplicati.Server.csproj: net8.0
    assert info['StartedBy'] == 'Agent'  # Agent/Program.cs: applicationSettings.Origin = "Agent"
    assert info['PackageTypeId'].endswith('-agent.deb')
    with running_server('--webservice-password', PW, '--server-version', '2.3.0.110_canary_2026-09-01') as srv:
        info = _info(srv).json()
    assert info['ServerVersionType'] == 'canary' and info['DefaultUpdateChannel'] == 'Canary'
    assert info['ServerVersionName'] == '2.3.0.110 - 2.3.0.110_canary_2026-09-01'


@pytest.mark.parametrize('value', ['9.9.9.9', '2.3', '2.3.0.4; rm -rf /', '2.3.0.4_weird_2026-01-01'])
def test_bad_server_version_is_refused(value):
    with pytest.raises(ValueError) as err:
        with running_server('--webservice-password', PW, '--server-version', value):
            pass
    assert 'release' in str(err.value) or 'version' in str(err.value)


def test_results_and_exports_carry_the_emulated_version():
    # ResultClasses.cs: Version = "<SelfVersion.Version> (<Displayname>)"; export: CreatedByVersion = SelfVersion.Version
    with running_server('--webservice-password', PW, '--seed-backups', '1', '--run-duration', '0.1',
                        '--server-version', '2.2.0.3') as srv:
        headers = srv.bearer(PW)
        assert srv.request('POST', '/api/v1/backup/1/run', headers=headers).status == 200
        deadline = time.monotonic() + 20
        while srv.app.runner.runs_finished < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        token = srv.request('POST', '/api/v1/auth/issuetoken/export', headers=headers).json()['Token']
        exported = srv.request('GET', '/api/v1/backup/1/export?export-passwords=false&token=%s' % token).json()
        assert srv.app.runner.version == '2.2.0.3 (Duplicati v2.2.0.3 - Stable)'
    assert exported['CreatedByVersion'] == '2.2.0.3'


def test_environment_read_like_the_real_provider(monkeypatch):
    monkeypatch.setenv('DO_NOT_TRACK', '1')
    monkeypatch.setenv('AUTOUPDATER_Duplicati_CHANNEL', 'preview')  # "Update from older builds": preview -> Experimental
    monkeypatch.setenv('AUTOUPDATER_Duplicati_URLS', 'https://updates.example.com/${RELEASE_TYPE}/latest-v2.manifest')
    monkeypatch.setenv('DUPLICATI_REMOTE_CONTROL_URL', 'https://console.example.com/register')
    monkeypatch.setenv('DUPLICATI_OAUTH_SERVICE', 'https://oauth.example.com/refresh')
    monkeypatch.setenv('FILESYSTEM_CASE_SENSITIVE', 'no')
    with running_server('--webservice-password', PW) as srv:
        info = _info(srv).json()
    assert info['DefaultUsageReportLevel'] == 'Disabled' and info['DefaultUpdateChannel'] == 'Experimental'
    assert info['UsingAlternateUpdateURLs'] is True
    assert info['RemoteControlRegistrationUrl'] == 'https://console.example.com/register'
    assert info['DefaultOAuthURL'] == info['DefaultOAuthURLv2'] == 'https://oauth.example.com/refresh'
    assert info['CaseSensitiveFilesystem'] is False


@pytest.mark.parametrize('env, level', [
    ({}, 'Information'), ({'USAGEREPORTER_Duplicati_LEVEL': 'none'}, 'Disabled'), ({'USAGEREPORTER_Duplicati_LEVEL': 'true'}, 'Disabled'),
    ({'USAGEREPORTER_Duplicati_LEVEL': 'warning'}, 'Warning'), ({'USAGEREPORTER_Duplicati_LEVEL': 'bogus'}, 'Information'),
    ({'DO_NOT_TRACK': ' 1 '}, 'Disabled'), ({'DO_NOT_TRACK': 'yes'}, 'Information'),
])
def test_default_usage_report_level(env, level):
    # Reporter.DefaultReportLevel: IsDisabledByEnvironment ? "Disabled" : MaxReportLevel.ToString()
    assert systeminfo.default_usage_report_level(env) == level


def test_platform_string_like_os_info_helper(tmp_path):
    pretty = tmp_path / 'os-release'
    pretty.write_text('NAME="Debian GNU/Linux"\nVERSION="12 (bookworm)"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    assert systeminfo.platform_string([str(pretty)], run=lambda argv: 'never') == 'Debian GNU/Linux 12 (bookworm)'
    plain = tmp_path / 'lsb-release'
    plain.write_text('DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=24.04\nEMPTY=\n')
    assert systeminfo.platform_string([str(plain)], run=lambda argv: 'never') == 'Ubuntu 24.04'
    calls = []

    def run(argv):
        calls.append(argv)
        return None if argv[0] == 'lsb_release' else 'Linux 6.1.0 #1 SMP x86_64 unknown'
    assert systeminfo.platform_string([], run=run) == 'Linux 6.1.0 #1 SMP x86_64 unknown'
    assert calls == [['lsb_release', '-a'], ['uname', '-srvmp']]


def test_special_folders_linux_branch(tmp_path):
    home = tmp_path / 'home'
    for name in ('Music', 'Downloads'):
        (home / name).mkdir(parents=True)
    folders = systeminfo.special_folders({'HOME': str(home)})
    assert folders == [{'ID': '%MY_DOCUMENTS%', 'Path': str(home)}, {'ID': '%MY_MUSIC%', 'Path': str(home / 'Music')},
                       {'ID': '%HOME%', 'Path': str(home)}, {'ID': '%MY_DOWNLOADS%', 'Path': str(home / 'Downloads')}]


def test_time_zones_ordered_by_base_offset():
    zones = systeminfo.time_zones()
    assert zones and all(list(z) == ['ID', 'DisplayName', 'CurrentUTCOffset'] for z in zones)
    berlin = next(z for z in zones if z['ID'] == 'Europe/Berlin')
    assert berlin['DisplayName'] == '(UTC+01:00) Europe/Berlin' and berlin['CurrentUTCOffset'] in ('01:00:00', '02:00:00')
    offsets = [z['DisplayName'][4:10] for z in zones]
    as_minutes = [(-1 if o[0] == '-' else 1) * (int(o[1:3]) * 60 + int(o[4:6])) for o in offsets]
    assert as_minutes == sorted(as_minutes)
    assert systeminfo.format_timespan(__import__('datetime').timedelta(hours=-5, minutes=-30)) == '-05:30:00'


def test_filter_groups_linux(tmp_path, monkeypatch):
    monkeypatch.delenv('XDG_CACHE_HOME', raising=False)
    monkeypatch.setenv('TMPDIR', '/tmp')
    folder = str(tmp_path / 'data')
    with running_server('--webservice-password', PW, '--server-datafolder', folder) as srv:
        reply = srv.request('GET', '/api/v1/systeminfo/filtergroups', headers=srv.bearer(PW))
    assert reply.status == 200
    assert b'"*/lost\\u002Bfound/"' in reply.body  # System.Text.Json escapes +
    groups = reply.json()['FilterGroups']
    # GetFilterStringMap: these keys in this order
    assert list(groups) == ['None', 'SystemFiles', 'OperatingSystem', 'CacheFiles', 'TemporaryFiles', 'Applications',
                            'DefaultExcludes', 'DefaultIncludes']
    assert groups['None'] == [] and groups['DefaultIncludes'] == []
    assert groups['SystemFiles'] == ['/dev/', '/proc/', '/selinux/', '/sys/']
    assert groups['OperatingSystem'] == ['/bin/', '/boot/', '/etc/', '/initrd/', '/sbin/', '/var/']
    assert groups['TemporaryFiles'] == ['*/lost+found/', '*~', '/tmp/']  # Path.GetTempPath() and "/tmp/" once (Distinct)
    assert groups['Applications'] == ['/lib/', '/lib64/', '/opt/', '/usr/']
    control = os.path.join(folder, 'control_dir_v2') + '/'
    assert control in groups['CacheFiles'] and '*/.cache/' in groups['CacheFiles']
    assert groups['CacheFiles'] == sorted(groups['CacheFiles'])  # ordinal order
    # FilterPrefixMatches: the control folder lies under /tmp/, which DefaultExcludes already has
    assert control not in groups['DefaultExcludes'] and '/tmp/' in groups['DefaultExcludes']
    assert set(groups['DefaultExcludes']) == (set(groups['SystemFiles']) | set(groups['OperatingSystem']) | set(groups['CacheFiles'])
                                              | set(groups['TemporaryFiles']) | set(groups['Applications'])) - {control}


def test_filter_strings_xdg_cache_home_and_no_data_folder():
    env = {'XDG_CACHE_HOME': '/srv/cache', 'TMPDIR': '/var/tmp/'}
    cache = systeminfo.filter_strings(0x04, '', env)
    assert '*/Duplicati/control_dir_v2/' in cache and '/srv/cache' in cache
    assert systeminfo.filter_strings(0x08, None, env) == ['*/lost+found/', '*~', '/tmp/', '/var/tmp/']
