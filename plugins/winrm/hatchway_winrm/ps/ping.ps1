# Proves that a PowerShell process starts and writes to stdout: the last step of connecting.
if (Test-Path variable:global:ProgressPreference) { $ProgressPreference = 'SilentlyContinue' }
[Console]::Out.WriteLine('hatchway: WinRM connected')
