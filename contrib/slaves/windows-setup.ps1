<#
.SYNOPSIS
  Prepare a Windows host (Windows 10 1809+, Server 2019+) as a buildmaster slave.

.DESCRIPTION
  Run in an elevated PowerShell:

    powershell -ExecutionPolicy Bypass -File windows-setup.ps1 -PublicKeyFile master.pub `
      [-User buildbot] [-BaseDir C:\buildbot\workers] [-MaxSessions 64]

  Installs and starts Win32-OpenSSH Server, opens the firewall, creates a standard (non-admin)
  local build user with a random password nobody knows, authorizes the master's key, raises
  sshd's MaxSessions, creates the workers' base directory, and prints the host key fingerprints
  to compare with `buildmaster trust-worker`. Idempotent.

  Workers with shell: 'cmd' need sshd's DefaultShell to be cmd.exe (the default); workers with
  shell: 'powershell' work with any DefaultShell.
#>
param(
  [Parameter(Mandatory = $true)][string]$PublicKeyFile,
  [string]$User = 'buildbot',
  [string]$BaseDir = 'C:\buildbot\workers',
  [int]$MaxSessions = 64
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'Run this script in an elevated PowerShell (Run as Administrator).'
}
$key = (Get-Content -LiteralPath $PublicKeyFile -TotalCount 1).Trim()
if ($key -notmatch '^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+') {
  throw "$PublicKeyFile does not look like an OpenSSH public key"
}

# 1. OpenSSH Server
$cap = Get-WindowsCapability -Online -Name 'OpenSSH.Server*' | Select-Object -First 1
if ($cap.State -ne 'Installed') { Add-WindowsCapability -Online -Name $cap.Name | Out-Null }
Set-Service -Name sshd -StartupType Automatic
Start-Service sshd   # first start generates the host keys and C:\ProgramData\ssh\sshd_config
if (-not (Get-NetFirewallRule -Name 'OpenSSH-Server-In-TCP' -ErrorAction SilentlyContinue)) {
  New-NetFirewallRule -Name 'OpenSSH-Server-In-TCP' -DisplayName 'OpenSSH Server (sshd)' -Enabled True `
    -Direction Inbound -Protocol TCP -Action Allow -LocalPort 22 | Out-Null
}

# 2. The build user: not an administrator (administrators' keys live in a different file,
#    C:\ProgramData\ssh\administrators_authorized_keys, and builds need no admin rights).
Add-Type -AssemblyName System.Web
$password = ConvertTo-SecureString ([System.Web.Security.Membership]::GeneratePassword(32, 8)) -AsPlainText -Force
if (-not (Get-LocalUser -Name $User -ErrorAction SilentlyContinue)) {
  New-LocalUser -Name $User -Password $password -PasswordNeverExpires -AccountNeverExpires `
    -Description 'buildmaster build user' | Out-Null
} else {
  Set-LocalUser -Name $User -Password $password
}
# Create the profile now (C:\Users\<user>) by starting a process as the user once; otherwise
# Windows makes C:\Users\<user>.<HOST> at the first SSH login and our .ssh would be elsewhere.
$cred = New-Object System.Management.Automation.PSCredential(".\$User", $password)
Start-Process -FilePath cmd.exe -ArgumentList '/c', 'exit' -Credential $cred -LoadUserProfile -Wait -WindowStyle Hidden
$profileDir = (Get-CimInstance Win32_UserProfile | Where-Object { $_.SID -eq (Get-LocalUser -Name $User).SID.Value }).LocalPath
if (-not $profileDir) { throw "no profile was created for $User" }

# 3. authorized_keys, readable only by the user, SYSTEM and Administrators (sshd checks this).
$sshDir = Join-Path $profileDir '.ssh'
New-Item -ItemType Directory -Force -Path $sshDir | Out-Null
$auth = Join-Path $sshDir 'authorized_keys'
if (-not (Test-Path -LiteralPath $auth)) { New-Item -ItemType File -Path $auth | Out-Null }
if (-not ((Get-Content -LiteralPath $auth) -contains $key)) { Add-Content -LiteralPath $auth -Value $key -Encoding ascii }
icacls.exe $auth /inheritance:r /grant "${User}:F" /grant 'SYSTEM:F' /grant '*S-1-5-32-544:F' | Out-Null

# 4. MaxSessions, at the top of sshd_config (before the `Match Group administrators` block).
$config = 'C:\ProgramData\ssh\sshd_config'
$lines = Get-Content -LiteralPath $config | Where-Object { $_ -notmatch '^\s*MaxSessions\s' }
Set-Content -LiteralPath $config -Value (@("MaxSessions $MaxSessions") + $lines) -Encoding ascii
& "$env:WINDIR\System32\OpenSSH\sshd.exe" -t
if ($LASTEXITCODE -ne 0) { throw 'sshd_config does not pass sshd -t' }
Restart-Service sshd

$defaultShell = (Get-ItemProperty -Path 'HKLM:\SOFTWARE\OpenSSH' -Name DefaultShell -ErrorAction SilentlyContinue).DefaultShell
if ($defaultShell -and $defaultShell -notmatch 'cmd\.exe$') {
  Write-Warning "sshd's DefaultShell is ${defaultShell}: configure this worker with shell: 'powershell'."
}

# 5. The workers' base directory, writable by the build user.
New-Item -ItemType Directory -Force -Path $BaseDir | Out-Null
icacls.exe $BaseDir /grant "${User}:(OI)(CI)M" | Out-Null

Write-Output "slave ready: user $User, basedir $BaseDir, MaxSessions $MaxSessions"
Write-Output "host key fingerprints (compare with what 'buildmaster trust-worker' prints):"
Get-ChildItem 'C:\ProgramData\ssh\ssh_host_*_key.pub' | ForEach-Object { & "$env:WINDIR\System32\OpenSSH\ssh-keygen.exe" -lf $_.FullName }
