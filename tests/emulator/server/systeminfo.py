# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``GET /api/v1/systeminfo`` and ``GET /api/v1/systeminfo/filtergroups`` of the emulated server.

The real endpoints (``WebserverCore/Endpoints/V1/SystemInfo.cs``) both require
authorization. ``systeminfo`` answers ``SystemInfoDto`` (``Dto/SystemInfoDto.cs``), built
by ``Services/SystemInfoProvider.cs``; ``filtergroups`` answers
``{"FilterGroups": {"None": [...], "SystemFiles": [...], ...}}``
(``FilterGroupsDto.cs``, ``Library/Utility/FilterGroups.cs``). The server serialises
with System.Text.Json, no naming policy (PascalCase), enums as strings, nulls written.

Every field is present, in declaration order, and is computed as the provider computes
it on a Linux host, from this process's environment where the real one reads its own:

* ``ServerVersion`` / ``ServerVersionType`` / ``ServerVersionName``: the installed
  ``autoupdate.manifest`` (``Version``, lower-case ``ReleaseType``) and
  ``VersionNumbers.VERSION_NAME`` = ``"<assembly version> - <VersionTag.txt>"``, where the
  release builder writes the release name (``2.3.0.4_stable_2026-07-09``) to
  ``VersionTag.txt`` (``ReleaseBuilder/Build/Command.cs``). The emulated release is the
  emulator option ``--server-version``: a version of ``KNOWN_RELEASES`` or a full release
  name such as ``2.3.0.5_stable_2026-08-01``;
* ``StartedBy``: ``IApplicationSettings.Origin``, ``Server`` unless the server is hosted
  by the Agent (``Agent``) or the tray icon (``Tray icon``): emulator option ``--started-by``;
* ``OSType`` ``Linux``; ``OSVersion`` as ``OSInfoHelper.PlatformString`` (``PRETTY_NAME``
  of ``/etc/*-release``, then ``NAME VERSION``, then ``lsb_release``, then ``uname -srvmp``);
* ``DefaultUpdateChannel`` (``AUTOUPDATER_Duplicati_CHANNEL`` or the build channel),
  ``DefaultUsageReportLevel`` (``DO_NOT_TRACK``, ``USAGEREPORTER_Duplicati_LEVEL``),
  ``UsingAlternateUpdateURLs`` (``AUTOUPDATER_Duplicati_URLS``),
  ``RemoteControlRegistrationUrl`` / ``RemoteControlDashboardUrl``
  (``DUPLICATI_REMOTE_CONTROL_URL`` / ``DUPLICATI_DASHBOARD_URL``), ``DefaultOAuthURL`` /
  ``DefaultOAuthURLv2`` (``DUPLICATI_OAUTH_SERVICE``), ``CaseSensitiveFilesystem``
  (``FILESYSTEM_CASE_SENSITIVE``, true on Linux);
* ``ServerTime`` is ``DateTime.Now`` (local time with its offset), ``ServerTimeZone``
  ``TimeZoneInfo.Local.Id``; ``MachineName`` the host name up to its first dot,
  ``UserName`` the effective user; ``SpecialFolders`` the Linux branch of
  ``SpecialFolders.cs`` (folders that exist only); ``APIExtensions`` the provider's list
  without those of ``--webservice-disable-api-extensions`` (setting
  ``disable-api-extensions``); ``BrowserLocale`` from ``Accept-Language`` (highest
  quality first, ``LanguageService.cs``), the invariant culture when none is known.

Known limits, all of them partial sets of the real data, not different shapes:

* ``Options``, ``ServerOnlyOptions`` and the module lists hold a small representative set
  of the real entries (``ICommandLineArgument``: ``Aliases``, ``LongDescription``,
  ``Name``, ``ShortDescription``, ``Type``, ``ValidValues``, ``DefaultValue``,
  ``Typename``, ``Deprecated``, ``DeprecationMessage``; ``IDynamicModule``: ``Key``,
  ``Description``, ``DisplayName``, ``Options``, ``Lookups``, ``IsDeprecated``,
  ``IsUntested``), copied from the real sources; the real server lists every option of
  ``Library/Main/Options.cs`` and every loaded module;
* ``SupportedLocales`` is a subset of the real ``.mo`` cultures, and only the cultures of
  ``CULTURES`` are recognised in ``Accept-Language`` (the real server knows every ICU
  culture); ``BrowserLocaleSupported`` is checked against all real languages;
* ``TimeZones`` are the host's tz database zones; the real ``DisplayName`` comes from ICU
  (``(UTC+01:00) Central European Time (Berlin)``), the emulator writes
  ``(UTC+01:00) Europe/Berlin``;
* ``CLRVersion`` is the runtime the release was built for (net8.0 up to 2.2.0.100,
  net10.0 from 2.2.0.101 on, per each tag's ``Duplicati.Server.csproj``), as ``8.0.0`` or
  ``10.0.0``: the patch level of a real install depends on the bundled runtime;
* no licence is ever configured (``LocalLicenseStatus`` / ``RemoteLicenseStatus``
  unconfigured), no API extension is licensed, no server module is loaded
  (``ServerModules`` is empty, as on a stock install);
* the wire shape is the one of the source this emulator follows (the mirror's HEAD):
  releases before 2.3.0.100 lack ``ServerOnlyOptions`` and list fewer ``APIExtensions``;
  ``--server-version`` changes the reported version only.
"""

import datetime
import glob
import os
import platform
import pwd
import re
import shutil
import socket
import subprocess
import threading

# -- the emulated release ----------------------------------------------------------------

# Release names of the stable and beta releases from 2.1 on and of the newest canaries
# (git tags of duplicati/duplicati, ``v<release name>``).
KNOWN_RELEASES = (
    '2.1.0.2_beta_2024-11-29', '2.1.0.3_beta_2025-01-22', '2.1.0.4_stable_2025-01-31', '2.1.0.5_stable_2025-03-04',
    '2.1.2.0_beta_2025-08-20', '2.1.2.1_beta_2025-10-03', '2.1.2.2_beta_2025-10-10', '2.1.2.3_beta_2025-10-11',
    '2.2.0.0_stable_2025-10-23', '2.2.0.1_stable_2025-11-09', '2.2.0.2_beta_2025-11-26', '2.2.0.3_stable_2026-01-06',
    '2.2.1.0_beta_2026-03-05', '2.3.0.0_stable_2026-04-14', '2.3.0.1_stable_2026-04-24', '2.3.0.2_stable_2026-06-10',
    '2.3.0.3_stable_2026-06-10', '2.3.0.4_stable_2026-07-09', '2.3.1.0_beta_2026-07-28',
    '2.3.0.105_canary_2026-06-24', '2.3.0.106_canary_2026-07-03', '2.3.0.107_canary_2026-07-13',
    '2.3.0.108_canary_2026-07-20', '2.3.0.109_canary_2026-08-14',
)
DEFAULT_SERVER_VERSION = '2.3.0.4'
_RELEASE_NAME = re.compile(r'^(\d+\.\d+\.\d+\.\d+)_(stable|beta|experimental|canary|nightly)_(\d{4}-\d{2}-\d{2})$')
_VERSION = re.compile(r'^\d+\.\d+\.\d+\.\d+$')
ORIGINS = ('Server', 'Agent', 'Tray icon')


class Release(object):
    """One Duplicati release: ``version`` (``2.3.0.4``), ``channel`` (``stable``), ``date``."""

    def __init__(self, version, channel, date):
        self.version = version
        self.channel = channel
        self.date = date

    @property
    def name(self):
        """The release name the release builder writes to ``VersionTag.txt``."""
        return '%s_%s_%s' % (self.version, self.channel, self.date)

    @property
    def version_name(self):
        """``VersionNumbers.VERSION_NAME``: assembly version, `` - ``, the version tag."""
        return '%s - %s' % (self.version, self.name)

    @property
    def display_name(self):
        """``Displayname`` of the embedded manifest: ``Duplicati v2.3.0.4 - Stable``."""
        return 'Duplicati v%s - %s' % (self.version, self.channel.capitalize())

    @property
    def result_version(self):
        """``Version`` of a backup result: ``2.3.0.4 (Duplicati v2.3.0.4 - Stable)`` (``ResultClasses.cs``)."""
        return '%s (%s)' % (self.version, self.display_name)

    @property
    def clr_version(self):
        parts = tuple(int(p) for p in self.version.split('.'))
        return '10.0.0' if parts >= (2, 2, 0, 101) else '8.0.0'


def parse_release(text):
    """The ``Release`` for ``--server-version``: a known version or a full release name."""
    text = (text or DEFAULT_SERVER_VERSION).strip()
    if text.startswith('v'):
        text = text[1:]
    match = _RELEASE_NAME.match(text)
    if match:
        return Release(*match.groups())
    if _VERSION.match(text):
        for name in KNOWN_RELEASES:
            if name.split('_', 1)[0] == text:
                return Release(*_RELEASE_NAME.match(name).groups())
        raise ValueError('Unknown Duplicati release %s: give its full release name, such as %s_stable_2026-08-01' % (text, text))
    raise ValueError('Invalid server version %r: expected a version such as 2.3.0.4 or a release name such as 2.3.0.4_stable_2026-07-09'
                     % text)


# -- static data copied from the real sources ----------------------------------------------

PASSWORD_PLACEHOLDER = '*' * 15  # Connection.PASSWORD_PLACEHOLDER
LOG_LEVELS = ['ExplicitOnly', 'Profiling', 'Verbose', 'Retry', 'Information', 'DryRun', 'Warning', 'Error']  # LogMessageType
SUPPORTED_API_EXTENSIONS = (  # SystemInfoProvider.SupportedAPIExtensions
    'v2:backup:list-filesets', 'v2:backup:list-folder', 'v2:backup:list-versions', 'v2:backup:search', 'v2:destination:test',
    'v1:websocket', 'v1:gettask:taskstarted', 'v1:gettask:taskfinished', 'v1:websocket:authenticate', 'v1:subscribe:legacystatus',
    'v1:subscribe:backuplist', 'v1:subscribe:serversettings', 'v1:subscribe:progress', 'v1:subscribe:taskqueue',
    'v1:subscribe:taskcompleted', 'v1:subscribe:notifications', 'v2:system:temp-disk-space', 'v1:subscribe:remotecontrol',
    'v1:ipc:controller', 'v2:filesystem:test-filter', 'v2:destination:list', 'v1:backup:restorecontrolfiles', 'v1:backup:sync-mode',
    'v2:backup:list-broken-files', 'v2:backup:purge-broken-files', 'v2:backup:delete-versions',
)
RELEASE_TYPES = ('Unknown', 'Stable', 'Beta', 'Experimental', 'Canary', 'Nightly', 'Debug')  # AutoUpdater ReleaseType
REPORT_TYPES = ('Information', 'Warning', 'Error', 'Crash')  # UsageReporter ReportType
APP_NAME = 'Duplicati'  # AutoUpdateAppName.txt
DEFAULT_REGISTRATION_URL = 'https://api.duplicati.com/remotecontrol/register'
DEFAULT_DASHBOARD_URL = 'https://app.duplicati.com/app/machines'
DEFAULT_OAUTH_SERVICE = 'https://duplicati-oauth-handler.appspot.com/refresh'
DEFAULT_OAUTH_SERVICE_NEW = 'https://oauth-service.duplicati.com/refresh'

# CommandLineArgument.Typename (Library/Interface/Strings.cs DataTypes): the type's name
_TYPES = ('String', 'Integer', 'Boolean', 'Timespan', 'DateTime', 'Size', 'Enumeration', 'Path', 'Password', 'Flags', 'Decimal', 'Unknown')


def argument(name, kind, short, long_text, default=None, aliases=None, values=None, deprecation=None):
    """An ``ICommandLineArgument`` as System.Text.Json writes it (interface properties, declaration order).

    The constructor defaults: ``DefaultValue`` ``""`` (``"false"`` for a Boolean),
    ``Aliases`` / ``ValidValues`` null, ``Deprecated`` only with a deprecation message.
    """
    if kind not in _TYPES:
        raise ValueError('unknown argument type %r' % kind)
    if default is None or (kind == 'Boolean' and default == ''):
        default = 'false' if kind == 'Boolean' else ''
    return {'Aliases': aliases, 'LongDescription': long_text, 'Name': name, 'ShortDescription': short, 'Type': kind,
            'ValidValues': values, 'DefaultValue': default, 'Typename': kind, 'Deprecated': deprecation is not None,
            'DeprecationMessage': deprecation if deprecation is not None else ''}


def module(key, display_name, description, arguments, lookups=None):
    """An ``IDynamicModule`` (``ServerSettings.DynamicModule``)."""
    return {'Key': key, 'Description': description, 'DisplayName': display_name, 'Options': arguments, 'Lookups': lookups,
            'IsDeprecated': False, 'IsUntested': False}


def options():
    """A representative part of ``new Library.Main.Options(...).SupportedCommands`` (``Library/Main/Options.cs``)."""
    return [
        argument('dblock-size', 'Size', 'Limit the size of the volumes',
                 'This option can change the maximum size of dblock files. Changing the size can be useful if the backend has a limit '
                 'on the size of each individual file.', '50mb', ['remote-volume-size']),
        argument('passphrase', 'Password', 'Passphrase used to encrypt backups',
                 'Supply a passphrase that Duplicati will use to encrypt the backup volumes, making them unreadable without the '
                 'passphrase. This variable can also be supplied through the environment variable PASSPHRASE.'),
        argument('no-encryption', 'Boolean', 'Disable encryption',
                 'If you store the backups on a local disk, and prefer that they are kept unencrypted, you can turn of encryption '
                 'completely by using this switch.', 'false'),
        argument('keep-versions', 'Integer', 'Keep a number of versions',
                 'Use this option to set number of versions to keep. Supply -1 to keep all versions.', '0'),
    ]


STORE_TASK_CONFIG_MODES = ['Auto', 'None', 'Self', 'All', 'SelfWithSecrets', 'AllWithSecrets', 'SelfWithUnencryptedSecrets',
                           'AllWithUnencryptedSecrets']


def server_only_options():
    """``DuplicatiWebserver.ServerOnlyOptions`` (complete: it has one entry)."""
    long_text = ('Controls whether the backup configuration is stored as a control file in the backup. When encryption is enabled, '
                 'Auto is equivalent to Self and None otherwise. The mode Self and All store the configuration without secrets (for '
                 'the current job or all jobs, respectively). The options SelfWithSecrets and AllWithSecrets include all secrets in '
                 'the configuration, which makes it easier to recreate, but is less secure. Note that configuration is only uploaded '
                 'if the backup has changed, and a configuration change alone will not be treated as a new backup version.')
    return [argument('store-task-config', 'Enumeration', 'Store task configuration with backup', long_text, 'Auto', None,
                     list(STORE_TASK_CONFIG_MODES))]


def compression_modules():
    return [module('zip', 'ZIP compression', 'This module provides the industry standard ZIP compression. Files created with this '
                   'module can be read by any standard-compliant ZIP application.', [
                       argument('zip-compression-level', 'Enumeration', 'Set the ZIP compression level',
                                'This option controls the compression level used. A setting of zero gives no compression, and a '
                                'setting of 9 gives maximum compression.', '9', None, [str(n) for n in range(10)])])]


def encryption_modules():
    return [module('aes', 'AES-256 encryption, built in', 'This module encrypts all files in the same way that AESCrypt does, using '
                   '256 bit AES encryption.', [
                       argument('aes-minimal-header', 'Boolean', 'Use minimal header for AES encryption',
                                'Use this option to use a minimal header for AES encryption. This will reduce the size of the '
                                'encrypted file, but will remove some additional metadata that is normally stored in the header.',
                                'false')])]


def backend_modules():
    description = ('This backend can read and write data to an file based backend. Allowed formats are "file://hostname/folder" and '
                   '"file://username:password@hostname/folder". You may supply UNC paths (e.g.: "file://\\\\server\\folder") or local '
                   'paths (e.g.: (win) "file://c:\\folder", (linux) "file:///usr/pub/files")')
    return [module('file', 'Local folder or drive', description, [
        argument('use-move-for-put', 'Boolean', 'Move the file instead of copying it',
                 'When storing the file, the standard operation is to copy the file and delete the original. This sequence ensures '
                 'that the operation can be retried if something goes wrong. Activating this option may cause the retry operation '
                 'to fail. This option has no effect unless the option --disable-streaming-transfers is activated.')])]


# Cultures the emulator can name: (Name, EnglishName, NativeName) as .NET with ICU gives them.
CULTURES = (
    ('da', 'Danish', 'dansk'), ('de', 'German', 'Deutsch'), ('de-CH', 'German (Switzerland)', 'Deutsch (Schweiz)'),
    ('de-DE', 'German (Germany)', 'Deutsch (Deutschland)'), ('en', 'English', 'English'),
    ('en-GB', 'English (United Kingdom)', 'English (United Kingdom)'), ('en-US', 'English (United States)', 'English (United States)'),
    ('es', 'Spanish', 'español'), ('es-ES', 'Spanish (Spain)', 'español (España)'), ('fr', 'French', 'français'),
    ('fr-CA', 'French (Canada)', 'français (Canada)'), ('fr-FR', 'French (France)', 'français (France)'), ('it', 'Italian', 'italiano'),
    ('ja', 'Japanese', '日本語'), ('ja-JP', 'Japanese (Japan)', '日本語 (日本)'), ('nl', 'Dutch', 'Nederlands'),
    ('nl-NL', 'Dutch (Netherlands)', 'Nederlands (Nederland)'), ('pl', 'Polish', 'polski'), ('pt', 'Portuguese', 'português'),
    ('pt-BR', 'Portuguese (Brazil)', 'português (Brasil)'), ('sv', 'Swedish', 'svenska'), ('sv-SE', 'Swedish (Sweden)', 'svenska (Sverige)'),
    ('zh-CN', 'Chinese (China)', '中文 (中国)'),
)
_CULTURE_BY_NAME = dict((c[0].lower(), c) for c in CULTURES)
# The real supported cultures (one .mo file each, plus "en") present in CULTURES.
SUPPORTED_LOCALES = ('da', 'de', 'de-CH', 'de-DE', 'en', 'es', 'fr', 'fr-CA', 'fr-FR', 'it', 'ja', 'ja-JP', 'nl-NL', 'pl', 'pt',
                     'pt-BR', 'sv-SE', 'zh-CN')
# TwoLetterISOLanguageName of every real supported culture (Localizations/duplicati/*.mo)
SUPPORTED_LANGUAGES = frozenset('bn ca cs da de en es fi fr hu it ja ko lt lv nl pl pt ro ru sk sr sv th tr zh'.split())
INVARIANT_NAME = 'Invariant Language (Invariant Country)'
_CI_MATCHER = re.compile(r'[A-z]{2}([-_][A-z]{4})?([-_][A-z]{2})?')  # LocalizationService.CI_MATCHER


def _locale(culture):
    return {'Code': culture[0], 'EnglishName': culture[1], 'DisplayName': culture[2]}


def parse_culture(text):
    """LocalizationService.ParseCulture limited to ``CULTURES``: the culture tuple or None."""
    text = (text or '').replace('_', '-')
    if not _CI_MATCHER.search(text):
        return None
    return _CULTURE_BY_NAME.get(text.strip().lower())


def browser_culture(accept_language):
    """LanguageService.GetLanguage: the first known culture of ``Accept-Language``, highest quality first."""
    entries = []
    for position, part in enumerate((accept_language or '').split(',')):
        fields = [f.strip() for f in part.split(';')]
        if not fields[0]:
            continue
        quality = 1.0
        for field in fields[1:]:
            if field.lower().startswith('q='):
                try:
                    quality = float(field[2:])
                except ValueError:
                    quality = 0.0
        entries.append((-quality, position, fields[0]))
    for _quality, _position, tag in sorted(entries):
        culture = parse_culture(tag)
        if culture is not None:
            return culture
    return None


# -- host facts, as .NET finds them on Linux ---------------------------------------------------

def parse_bool(value, default):
    """Utility.ParseBool(string, bool)."""
    if value is None or not value.strip():
        return default
    value = value.strip().lower()
    if value in ('1', 'on', 'true', 'yes'):
        return True
    if value in ('0', 'off', 'false', 'no'):
        return False
    return default


def _enum_parse(text, names):
    """Enum.TryParse(text, ignoreCase: true): the name, the number's name (or the number), or None."""
    text = (text or '').strip()
    for name in names:
        if name.lower() == text.lower():
            return name
    if re.match(r'^[+-]?\d+$', text):
        number = int(text)
        return names[number] if 0 <= number < len(names) else str(number)
    return None


def default_update_channel(release, env):
    """AutoUpdateSettings.DefaultUpdateChannel (the alternate-URL channel match is not modelled)."""
    channel = env.get('AUTOUPDATER_%s_CHANNEL' % APP_NAME)
    if not channel or not channel.strip():
        channel = release.channel  # AutoUpdateBuildChannel.txt: the release channel, lower case
    if channel.lower() == 'preview':
        channel = 'Experimental'
    if channel.lower() == 'rene':
        channel = 'Canary'
    return _enum_parse(channel, RELEASE_TYPES) or 'Stable'


def default_usage_report_level(env):
    """Reporter.DefaultReportLevel."""
    if (env.get('DO_NOT_TRACK') or '').strip() == '1':
        return 'Disabled'
    level = env.get('USAGEREPORTER_%s_LEVEL' % APP_NAME)
    if (level or '').lower() == 'none' or parse_bool(level, False):
        return 'Disabled'
    if not level or not level.strip():
        return 'Information'
    return _enum_parse(level, REPORT_TYPES) or 'Information'


def platform_string(release_files=None, run=None):
    """OSInfoHelper.PlatformString on Linux."""
    keys = []
    for path in sorted(glob.glob('/etc/*-release') if release_files is None else release_files):
        try:
            if os.path.getsize(path) >= 10 * 1024:
                continue
            with open(path, encoding='utf-8', errors='replace') as handle:
                for line in handle.read().splitlines():
                    items = [item.strip('"') for item in line.split('=', 1)]
                    if len(items) == 2 and all(item.strip() for item in items):
                        keys.append((items[0], items[1]))
        except OSError:
            continue

    def find(name):
        return next((value for key, value in keys if key.lower() == name.lower()), None)

    if find('PRETTY_NAME') is not None:
        return find('PRETTY_NAME')
    name = find('NAME') or find('DISTRIB_ID') or find('ID')
    version = find('VERSION') or find('DISTRIB_RELEASE') or find('VERSION_ID')
    if name is not None and version is not None:
        return '%s %s' % (name, version)
    if name is not None:
        return name
    run = run or _run
    output = run(['lsb_release', '-a'])
    if output:
        for line in output.splitlines():
            if line.strip().startswith('Description:'):
                described = line.strip()[len('Description:'):].strip()
                if described:
                    return described
    return run(['uname', '-srvmp'])


def _run(argv):
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.decode('utf-8', 'replace').strip()


def _env_or(env, name, default):
    """RegisterForRemote's defaults: the variable unless it is null or white space."""
    value = env.get(name)
    return default if value is None or not value.strip() else value


def machine_name():
    """Environment.MachineName on Unix: the host name up to its first dot."""
    return socket.gethostname().split('.', 1)[0]


def user_name():
    """Environment.UserName on Unix: the effective user's name."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return os.environ.get('USER', '')


def package_type_id(origin):
    """``package_type_id.txt`` of the install: ``<os>-<arch>-<interface>.<package>`` (``ReleaseBuilder/PackageTarget.cs``)."""
    arch = {'x86_64': 'x64', 'amd64': 'x64', 'aarch64': 'arm64', 'arm64': 'arm64', 'armv7l': 'arm7'}.get(platform.machine().lower(), 'x64')
    return 'linux-%s-%s.deb' % (arch, 'agent' if origin == 'Agent' else 'cli')


def _xdg_dir(home, name, fallback):
    """.NET's ReadXdgDirectory: ``XDG_<name>_DIR`` of ``~/.config/user-dirs.dirs``, else ``~/<fallback>``."""
    config = os.environ.get('XDG_CONFIG_HOME') or os.path.join(home, '.config')
    try:
        with open(os.path.join(config, 'user-dirs.dirs'), encoding='utf-8') as handle:
            for line in handle:
                match = re.match(r'^\s*XDG_%s_DIR\s*=\s*"(.*)"\s*$' % name, line)
                if match:
                    value = match.group(1)
                    if value.startswith('$HOME'):
                        return home + value[len('$HOME'):]
                    if value.startswith('/'):
                        return value
    except OSError:
        pass
    return os.path.join(home, fallback)


def special_folders(env=None):
    """SpecialFolders.Nodes on Linux as ``SpecialFolderDto`` ``{ID, Path}``: folders that exist, first id wins."""
    env = os.environ if env is None else env
    home = env.get('HOME') or os.path.expanduser('~')
    candidates = [
        (home, '%MY_DOCUMENTS%'),  # SpecialFolder.MyDocuments is $HOME on Unix
        (_xdg_dir(home, 'MUSIC', 'Music'), '%MY_MUSIC%'),
        (_xdg_dir(home, 'PICTURES', 'Pictures'), '%MY_PICTURES%'),
        (_xdg_dir(home, 'DESKTOP', 'Desktop'), '%DESKTOP%'),
        (env.get('HOME'), '%HOME%'),
        (home, '%HOME%'),
        (os.path.join(home, 'Movies'), '%MY_MOVIES%'),
        (os.path.join(home, 'Downloads'), '%MY_DOWNLOADS%'),
        (os.path.join(home, 'Public'), '%MY_PUBLIC%'),
    ]
    nodes, seen = [], set()
    for path, ident in candidates:
        if path and path.strip() and os.path.isabs(path) and os.path.isdir(path) and ident.lower() not in seen:
            seen.add(ident.lower())
            nodes.append({'ID': ident, 'Path': path})
    return nodes


def local_time_zone_id(env=None):
    """TimeZoneInfo.Local.Id on Linux: ``TZ``, else the zone ``/etc/localtime`` links to, else ``/etc/timezone``, else UTC."""
    env = os.environ if env is None else env
    tz = (env.get('TZ') or '').lstrip(':').strip()
    if tz and not tz.startswith('/'):
        return tz
    try:
        target = os.path.realpath(tz or '/etc/localtime')
        if '/zoneinfo/' in target:
            return target.split('/zoneinfo/', 1)[1]
    except OSError:
        pass
    try:
        with open('/etc/timezone', encoding='utf-8') as handle:
            name = handle.read().strip()
            if name:
                return name
    except OSError:
        pass
    return 'UTC'


def format_timespan(delta):
    """TimeSpan.ToString() (``c``): ``[-]hh:mm:ss``."""
    seconds = int(delta.total_seconds())
    sign = '-' if seconds < 0 else ''
    seconds = abs(seconds)
    return '%s%02d:%02d:%02d' % (sign, seconds // 3600, seconds % 3600 // 60, seconds % 60)


def _offset_text(delta):
    minutes = int(delta.total_seconds()) // 60
    sign = '-' if minutes < 0 else '+'
    return '%s%02d:%02d' % (sign, abs(minutes) // 60, abs(minutes) % 60)


def _zone_ids():
    """The zones of the host's ``zone.tab`` (what .NET lists on Linux), else every zone Python knows."""
    import zoneinfo
    for folder in zoneinfo.TZPATH:
        try:
            with open(os.path.join(folder, 'zone.tab'), encoding='utf-8') as handle:
                ids = [line.split('\t')[2].strip() for line in handle if line.strip() and not line.startswith('#') and line.count('\t') >= 2]
            return sorted(set(ids))
        except (OSError, IndexError):
            continue
    return sorted(i for i in zoneinfo.available_timezones() if not i.startswith(('posix/', 'right/')) and i not in ('Factory', 'localtime'))


def time_zones(now=None):
    """TimeZoneHelper.GetTimeZones: the host's zones, ordered by base offset then display name."""
    import zoneinfo
    now = now or datetime.datetime.now(datetime.timezone.utc)
    zones = []
    for ident in _zone_ids():
        try:
            local = now.astimezone(zoneinfo.ZoneInfo(ident))
        except (OSError, ValueError, KeyError):
            continue
        offset = local.utcoffset()
        base = offset - (local.dst() or datetime.timedelta(0))
        zones.append((base, '(UTC%s) %s' % (_offset_text(base), ident), ident, offset))
    zones.sort(key=lambda z: (z[0], z[1]))
    return [{'ID': ident, 'DisplayName': display, 'CurrentUTCOffset': format_timespan(offset)} for _base, display, ident, offset in zones]


def format_local_datetime(moment):
    """A local ``DateTime`` (Kind=Local) as System.Text.Json writes it: ``2026-08-22T12:15:30.1234567+02:00``."""
    text = moment.strftime('%Y-%m-%dT%H:%M:%S')
    if moment.microsecond:
        text += ('.%06d0' % moment.microsecond).rstrip('0')
    return text + _offset_text(moment.utcoffset())


def license_status():
    """SystemInfoDto.LicenseStatusDto.Map(null): no licence configured."""
    return {'IsConfigured': False, 'IsValid': False, 'IsInGracePeriod': False, 'ExpiresAt': None, 'ExpiresWithGraceAt': None,
            'Features': None}


# -- filter groups (Library/Utility/FilterGroups.cs, Linux) -----------------------------------

FILTER_GROUPS = (('None', 0x00), ('SystemFiles', 0x01), ('OperatingSystem', 0x02), ('CacheFiles', 0x04), ('TemporaryFiles', 0x08),
                 ('Applications', 0x10), ('DefaultExcludes', 0x1F), ('DefaultIncludes', 0x00))


def _has(group, flag):
    return group & flag == flag


def filter_strings(group, data_folder, env=None):
    """FilterGroups.GetFilterStrings on Linux for a group (a flag value)."""
    env = os.environ if env is None else env
    found = []
    if _has(group, 0x04):
        if data_folder and data_folder.strip():
            found.append(os.path.join(data_folder, 'control_dir_v2').rstrip('/') + '/')
        else:
            found.append('*/Duplicati/control_dir_v2/')
        found += ['*/Google/Chrome/*cache*', '*/Google/Chrome/*LOCK*', '*/Google/Chrome/*Current*', '*/Google/Chrome/Safe Browsing*',
                  '*/iPhoto Library/iPod Photo Cache/', '*/Mozilla/Firefox/*cache*', '*/cookies.sqlite-*', '*/permissions.sqlite-*']
    if _has(group, 0x08):
        temp = env.get('TMPDIR') or '/tmp/'  # Path.GetTempPath()
        found.append(temp if temp.endswith('/') else temp + '/')
    if _has(group, 0x01):
        found += ['/dev/', '/proc/', '/selinux/', '/sys/']
    if _has(group, 0x02):
        found += ['/bin/', '/boot/', '/etc/', '/initrd/', '/sbin/', '/var/']
    if _has(group, 0x08):
        found += ['*/lost+found/', '*~', '/tmp/']
    if _has(group, 0x04):
        if env.get('XDG_CACHE_HOME') is not None:
            found.append(env['XDG_CACHE_HOME'])
        found += ['*/.cache/', '*/.config/google-chrome/Default/Cookies', '*/.config/google-chrome/Default/Cookies-journal']
    if _has(group, 0x10):
        found += ['/lib/', '/lib64/', '/opt/', '/usr/']
    # FilterPrefixMatches (ordinal order, drop paths under a folder already listed), then Distinct
    result, prev = [], None
    for item in sorted(f for f in found if f and f.strip()):
        if prev is not None and prev.endswith('/') and item.startswith(prev):
            continue
        prev = item
        if item not in result:
            result.append(item)
    return result


def filter_groups(data_folder):
    """The ``FilterGroupsDto``: ``{"FilterGroups": {group name: [filters]}}``."""
    return {'FilterGroups': dict((name, filter_strings(flag, data_folder)) for name, flag in FILTER_GROUPS)}


# -- the DTO -----------------------------------------------------------------------------------

class SystemInfoProvider(object):
    """Builds ``SystemInfoDto``; the static part is computed once, like the real provider's cache."""

    def __init__(self, release, origin='Server'):
        if origin not in ORIGINS:
            raise ValueError('started-by must be one of %s, not %r' % (', '.join(ORIGINS), origin))
        self.release = release
        self.origin = origin
        self._static = None
        self._lock = threading.Lock()

    def _static_info(self):
        with self._lock:
            if self._static is None:
                env = os.environ
                release = self.release
                self._static = {
                    'APIVersion': 1,
                    'PasswordPlaceholder': PASSWORD_PLACEHOLDER,
                    'ServerVersion': release.version,
                    'ServerVersionName': release.version_name,
                    'ServerVersionType': release.channel,
                    'RemoteControlRegistrationUrl': _env_or(env, 'DUPLICATI_REMOTE_CONTROL_URL', DEFAULT_REGISTRATION_URL),
                    'RemoteControlDashboardUrl': _env_or(env, 'DUPLICATI_DASHBOARD_URL', DEFAULT_DASHBOARD_URL),
                    'DefaultUpdateChannel': default_update_channel(release, env),
                    'DefaultUsageReportLevel': default_usage_report_level(env),
                    'OSType': 'Linux',
                    'OSVersion': platform_string(),
                    'DirectorySeparator': '/',
                    'PathSeparator': ':',
                    'CaseSensitiveFilesystem': parse_bool(env.get('FILESYSTEM_CASE_SENSITIVE'), True),
                    'MachineName': machine_name(),
                    'PackageTypeId': package_type_id(self.origin),
                    'UserName': user_name(),
                    'NewLine': '\n',
                    'CLRVersion': release.clr_version,
                    'UsingAlternateUpdateURLs': bool((env.get('AUTOUPDATER_%s_URLS' % APP_NAME) or '').strip()),
                    'SpecialFolders': special_folders(env),
                    'SupportedLocales': [_locale(_CULTURE_BY_NAME[c.lower()]) for c in sorted(SUPPORTED_LOCALES)],
                    'TimeZones': time_zones(),
                    # AuthIdOptionsHelper: both fall back only when the variable is null or empty
                    'DefaultOAuthURL': env.get('DUPLICATI_OAUTH_SERVICE') or DEFAULT_OAUTH_SERVICE,
                    'DefaultOAuthURLv2': env.get('DUPLICATI_OAUTH_SERVICE') or DEFAULT_OAUTH_SERVICE_NEW,
                }
            return self._static

    def system_info(self, accept_language=None, disabled_api_extensions=()):
        """The ``SystemInfoDto`` for a request with this ``Accept-Language`` header."""
        static = self._static_info()
        culture = browser_culture(accept_language)
        browser = _locale(culture) if culture else {'Code': '', 'EnglishName': INVARIANT_NAME, 'DisplayName': INVARIANT_NAME}
        language = culture[0].split('-')[0].lower() if culture else 'iv'
        disabled = set(disabled_api_extensions or ())
        now = datetime.datetime.now().astimezone()
        dto = [
            ('APIVersion', static['APIVersion']),
            ('PasswordPlaceholder', static['PasswordPlaceholder']),
            ('ServerVersion', static['ServerVersion']),
            ('ServerVersionName', static['ServerVersionName']),
            ('ServerVersionType', static['ServerVersionType']),
            ('RemoteControlRegistrationUrl', static['RemoteControlRegistrationUrl']),
            ('RemoteControlDashboardUrl', static['RemoteControlDashboardUrl']),
            ('StartedBy', self.origin),
            ('DefaultUpdateChannel', static['DefaultUpdateChannel']),
            ('DefaultUsageReportLevel', static['DefaultUsageReportLevel']),
            ('ServerTime', format_local_datetime(now)),
            ('ServerTimeZone', local_time_zone_id()),
            ('OSType', static['OSType']),
            ('OSVersion', static['OSVersion']),
            ('DirectorySeparator', static['DirectorySeparator']),
            ('PathSeparator', static['PathSeparator']),
            ('CaseSensitiveFilesystem', static['CaseSensitiveFilesystem']),
            ('MachineName', static['MachineName']),
            ('PackageTypeId', static['PackageTypeId']),
            ('UserName', static['UserName']),
            ('NewLine', static['NewLine']),
            ('CLRVersion', static['CLRVersion']),
            ('Options', options()),
            ('ServerOnlyOptions', server_only_options()),
            ('CompressionModules', compression_modules()),
            ('EncryptionModules', encryption_modules()),
            ('BackendModules', backend_modules()),
            ('GenericModules', []),
            ('WebModules', []),
            ('ConnectionModules', []),
            ('SourceProviderModules', []),
            ('RestoreDestinationProviderModules', []),
            ('ServerModules', []),
            ('SecretProviderModules', []),
            ('UsingAlternateUpdateURLs', static['UsingAlternateUpdateURLs']),
            ('LogLevels', list(LOG_LEVELS)),
            ('SpecialFolders', static['SpecialFolders']),
            ('BrowserLocale', browser),
            ('SupportedLocales', static['SupportedLocales']),
            ('BrowserLocaleSupported', language in SUPPORTED_LANGUAGES),
            ('TimeZones', static['TimeZones']),
            ('APIExtensions', [ext for ext in SUPPORTED_API_EXTENSIONS if ext not in disabled]),
            ('APIScopes', ['*']),
            ('DefaultOAuthURL', static['DefaultOAuthURL']),
            ('DefaultOAuthURLv2', static['DefaultOAuthURLv2']),
            ('PowerModeProviders', ['', 'None']),
            ('LocalLicenseStatus', license_status()),
            ('RemoteLicenseStatus', license_status()),
        ]
        return dict(dto)


def disabled_api_extensions(setting):
    """ServerSettings.DisabledAPIExtensions: the ``disable-api-extensions`` setting split on ``,`` and ``;``."""
    return set(part.strip() for part in re.split(r'[,;]', setting or '') if part.strip())


def join_disabled_api_extensions(option_value):
    """The value Program.cs stores from ``--webservice-disable-api-extensions`` (split, trimmed, joined by ``,``)."""
    seen = []
    for part in re.split(r'[,;]', option_value or ''):
        part = part.strip()
        if part and part.lower() not in [s.lower() for s in seen]:
            seen.append(part)
    return ','.join(seen)
