# The windows-restart provisioner's check_registry: which of the registry keys in $keys
# (newline-separated, e.g. HKLM:SOFTWARE\...\RebootPending) exist, as Packer tests each with Test-Path.
# Writes "hatchway: pending <key>" for each one that exists.
# Exit 0: none exists (no restart pending); 3: at least one does.
# hatchway-args
$ErrorActionPreference = 'Stop'
function Get-Arg([string]$Value) { [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Value)) }
$pending = 0
foreach ($key in (Get-Arg $keys).Split([char]10)) {
    if ($key -and (Test-Path -LiteralPath $key)) {
        [Console]::Out.WriteLine('hatchway: pending ' + $key)
        $pending++
    }
}
if ($pending -gt 0) { exit 3 }
exit 0
