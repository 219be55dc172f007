# Writes one file, or a directory zipped into a temporary file, to stdout:
# a header line "F|Z <size> <mode or ->", base64 lines of at most 192 KiB each,
# and a trailer "H <sha256 hex>". Nothing is held whole in memory.
# Exit 2: the path does not exist.
# hatchway-args
$ErrorActionPreference = 'Stop'
if (Test-Path variable:global:ProgressPreference) { $ProgressPreference = 'SilentlyContinue' }
function Get-Arg([string]$Value) { [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Value)) }
$path = Get-Arg $path
$zip = $null
if ([IO.File]::Exists($path)) {
    $source = $path
    $kind = 'F'
} elseif ([IO.Directory]::Exists($path)) {
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $zip = [IO.Path]::GetTempFileName()
    [IO.File]::Delete($zip)
    [IO.Compression.ZipFile]::CreateFromDirectory($path, $zip)
    $source = $zip
    $kind = 'Z'
} else {
    [Console]::Error.WriteLine('hatchway: no such file or directory: ' + $path)
    exit 2
}
try {
    $mode = '-'
    if ($IsLinux -or $IsMacOS) { $mode = [Convert]::ToString([int][IO.File]::GetUnixFileMode($path), 8) }
    $out = [Console]::OpenStandardOutput()
    $ascii = [Text.Encoding]::ASCII
    $file = [IO.File]::OpenRead($source)
    $sha = [Security.Cryptography.SHA256]::Create()
    $head = $ascii.GetBytes($kind + ' ' + $file.Length + ' ' + $mode + "`n")
    $out.Write($head, 0, $head.Length)
    $buffer = New-Object byte[] 196608
    while (($count = $file.Read($buffer, 0, $buffer.Length)) -gt 0) {
        [void]$sha.TransformBlock($buffer, 0, $count, $buffer, 0)
        $line = $ascii.GetBytes([Convert]::ToBase64String($buffer, 0, $count) + "`n")
        $out.Write($line, 0, $line.Length)
    }
    $file.Dispose()
    [void]$sha.TransformFinalBlock([byte[]]@(), 0, 0)
    $tail = $ascii.GetBytes('H ' + [BitConverter]::ToString($sha.Hash).Replace('-', '').ToLowerInvariant() + "`n")
    $out.Write($tail, 0, $tail.Length)
    $out.Flush()
} finally {
    if ($zip) { [IO.File]::Delete($zip) }
}
