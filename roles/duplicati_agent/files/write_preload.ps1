# Writes preload.json privately (SYSTEM and Administrators only, like the agent's data folder) and atomically,
# only when its content differs. The content comes as a parameter, never inside the script text.
param(
    [string]$Path,
    [string]$Content,
    [bool]$Remove = $false
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
if ($Remove) {
    if (Test-Path -LiteralPath $Path) {
        if (-not $Ansible.CheckMode) { Remove-Item -LiteralPath $Path -Force }
        $Ansible.Changed = $true
    }
    return
}
$folder = Split-Path -Parent $Path
$acl = New-Object System.Security.AccessControl.FileSecurity
$acl.SetAccessRuleProtection($true, $false)
foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
    $identity = New-Object System.Security.Principal.SecurityIdentifier($sid)
    $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($identity, 'FullControl', 'Allow')
    $acl.AddAccessRule($rule)
}
$same = $false
if (Test-Path -LiteralPath $Path -PathType Leaf) {
    $same = ([System.IO.File]::ReadAllText($Path) -ceq $Content)
    if ($same) {
        $current = Get-Acl -LiteralPath $Path
        $same = $current.AreAccessRulesProtected -and (@($current.Access | Where-Object {
            $_.IdentityReference.Translate([System.Security.Principal.SecurityIdentifier]).Value -notin @('S-1-5-18', 'S-1-5-32-544')
        }).Count -eq 0)
    }
}
if ($same) { return }
$Ansible.Changed = $true
if ($Ansible.CheckMode) { return }
if (-not (Test-Path -LiteralPath $folder)) { New-Item -ItemType Directory -Path $folder -Force | Out-Null }
$tmp = Join-Path $folder ('.preload.' + [guid]::NewGuid().ToString('N') + '.tmp')
$stream = [System.IO.File]::Open($tmp, 'CreateNew', 'Write', 'None')
try {
    Set-Acl -LiteralPath $tmp -AclObject $acl
    $bytes = (New-Object System.Text.UTF8Encoding($false)).GetBytes($Content)
    $stream.Write($bytes, 0, $bytes.Length)
    $stream.Flush($true)
} finally {
    $stream.Dispose()
}
Move-Item -LiteralPath $tmp -Destination $Path -Force
