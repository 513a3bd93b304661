# Reads the state of the Duplicati server on Windows: whether Duplicati.Server.exe is in the install folder, its
# version, and the service "Duplicati" (Duplicati/WindowsService/ServiceControl.cs, SERVICE_NAME).
param(
    [string]$InstallDir
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$exe = Join-Path $InstallDir 'Duplicati.Server.exe'
$installed = Test-Path -LiteralPath $exe -PathType Leaf
$version = $null
if ($installed) {
    $version = (Get-Item -LiteralPath $exe).VersionInfo.ProductVersion
    if ($version) { $version = ($version -split '[-+ ]')[0] }
}
$service = Get-Service -Name 'Duplicati' -ErrorAction SilentlyContinue
@{
    installed = $installed
    version = $version
    system = 'Win32NT'
    os_family = 'Windows'
    service = @{
        name = 'Duplicati'
        exists = [bool]$service
        active = [bool]($service -and $service.Status -eq 'Running')
    }
}
