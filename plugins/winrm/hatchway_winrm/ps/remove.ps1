# Deletes the files named in $paths (newline-separated): the scripts the provisioners uploaded.
# A file that is already gone is fine.
# hatchway-args
$ErrorActionPreference = 'Stop'
function Get-Arg([string]$Value) { [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Value)) }
foreach ($item in (Get-Arg $paths).Split([char]10)) {
    if ($item -and [IO.File]::Exists($item)) { [IO.File]::Delete($item) }
}
