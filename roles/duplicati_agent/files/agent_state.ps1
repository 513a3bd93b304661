# Reads the state of the Duplicati Agent on Windows: install folder, version, service, registration.
# agent.json is registered when its "jwt" is not empty (Duplicati/Agent/Program.cs RegisterAsync).
param(
    [string]$InstallDir,
    [string]$SettingsFile
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$exe = Join-Path $InstallDir 'Duplicati.Agent.exe'
$installed = Test-Path -LiteralPath $exe -PathType Leaf
$version = $null
if ($installed) {
    $version = (Get-Item -LiteralPath $exe).VersionInfo.ProductVersion
    if ($version) { $version = ($version -split '[-+ ]')[0] }
}
$service = Get-Service -Name 'Duplicati.Agent' -ErrorAction SilentlyContinue
$registered = $false
$settingsError = $null
if (Test-Path -LiteralPath $SettingsFile -PathType Leaf) {
    try {
        $settings = Get-Content -LiteralPath $SettingsFile -Raw | ConvertFrom-Json
        $registered = -not [string]::IsNullOrWhiteSpace([string]$settings.jwt)
    } catch {
        $settingsError = "agent.json is not valid JSON: $($_.Exception.Message)"
    }
}
@{
    installed = $installed
    agent_path = $exe
    version = $version
    settings_file = $SettingsFile
    data_folder = Split-Path -Parent $SettingsFile
    registered = $registered
    settings_error = $settingsError
    service = @{
        name = 'Duplicati.Agent'
        exists = [bool]$service
        active = [bool]($service -and $service.Status -eq 'Running')
    }
}
