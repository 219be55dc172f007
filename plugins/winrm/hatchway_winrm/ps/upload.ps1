# Receives one file on stdin as base64 lines (one WS-Management Send each), then a
# "#sha256:<hex>" line. Writes a temporary file in the destination's directory,
# checks the hash, and only then moves it into place (or, with $unzip = '1',
# expands it as a zip into the destination directory, entry by entry, atomically).
# Arguments are base64 of UTF-8, so no path is ever parsed by PowerShell.
# Exit 2: the destination cannot be written; 3: the data did not arrive whole.
begin {
    # hatchway-args
    $ErrorActionPreference = 'Stop'
    if (Test-Path variable:global:ProgressPreference) { $ProgressPreference = 'SilentlyContinue' }
    function Get-Arg([string]$Value) { [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Value)) }
    function Fail([int]$Code, [string]$Message) {
        [Console]::Error.WriteLine('hatchway: ' + $Message)
        exit $Code
    }
    function Set-Mode([string]$Target, [int]$Bits) {
        if ($Bits -and ($IsLinux -or $IsMacOS)) { [IO.File]::SetUnixFileMode($Target, [IO.UnixFileMode]$Bits) }
    }
    function Move-Into([string]$Part, [string]$Target) {
        if ([IO.Directory]::Exists($Target)) { throw ('a directory is in the way: ' + $Target) }
        if ([IO.File]::Exists($Target)) { [IO.File]::Replace($Part, $Target, $null) } else { [IO.File]::Move($Part, $Target) }
    }
    function Get-PartName([string]$Target) {
        $base = [IO.Path]::GetFileName($Target)
        if ($base.Length -gt 32) { $base = $base.Substring(0, 32) }
        $name = '.' + $base + '.hatchway-' + [Guid]::NewGuid().ToString('N') + '.part'
        [IO.Path]::Combine([IO.Path]::GetDirectoryName($Target), $name)
    }
    $path = [IO.Path]::GetFullPath((Get-Arg $path))
    $bits = [Convert]::ToInt32((Get-Arg $mode), 8)
    $unzip = (Get-Arg $unzip) -eq '1'
    try {
        if ($unzip) {
            [void][IO.Directory]::CreateDirectory($path)
            $tmp = [IO.Path]::GetTempFileName()
        } else {
            if ([IO.Directory]::Exists($path)) { throw 'it is a directory' }
            [void][IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($path))
            $tmp = Get-PartName $path
        }
        $stream = [IO.File]::Create($tmp)
    } catch {
        Fail 2 ('cannot write ' + $path + ': ' + $_.Exception.Message)
    }
    $sha = [Security.Cryptography.SHA256]::Create()
    $expected = $null
}
process {
    foreach ($line in $input) {
        if ($line.StartsWith('#sha256:')) { $expected = $line.Substring(8).Trim(); continue }
        $bytes = [Convert]::FromBase64String($line)
        [void]$sha.TransformBlock($bytes, 0, $bytes.Length, $bytes, 0)
        $stream.Write($bytes, 0, $bytes.Length)
    }
}
end {
    $stream.Dispose()
    [void]$sha.TransformFinalBlock([byte[]]@(), 0, 0)
    $actual = [BitConverter]::ToString($sha.Hash).Replace('-', '').ToLowerInvariant()
    if ($actual -ne $expected) {
        [IO.File]::Delete($tmp)
        if ($expected) { Fail 3 ('checksum mismatch for ' + $path + ': sent ' + $expected + ', got ' + $actual) }
        Fail 3 ('the upload of ' + $path + ' was interrupted; nothing was changed')
    }
    try {
        if (-not $unzip) {
            Set-Mode $tmp $bits
            Move-Into $tmp $path
        } else {
            Add-Type -AssemblyName System.IO.Compression.FileSystem
            $root = $path.TrimEnd([char]'\', [char]'/') + [IO.Path]::DirectorySeparatorChar
            $zip = [IO.Compression.ZipFile]::OpenRead($tmp)
            try {
                foreach ($entry in $zip.Entries) {
                    $name = $entry.FullName.Replace([char]'\', [char]'/')
                    if ($name.StartsWith('/') -or ($name -match '^[A-Za-z]:') -or ($name.Split([char]'/') -contains '..')) {
                        throw ('unsafe archive entry refused: ' + $name)
                    }
                    $target = [IO.Path]::GetFullPath([IO.Path]::Combine($root, $name))
                    if (-not $target.StartsWith($root)) { throw ('unsafe archive entry refused: ' + $name) }
                    $entryBits = ($entry.ExternalAttributes -shr 16) -band 4095
                    if ($name.EndsWith('/')) {
                        [void][IO.Directory]::CreateDirectory($target)
                        Set-Mode $target $entryBits
                        continue
                    }
                    [void][IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($target))
                    $part = Get-PartName $target
                    [IO.Compression.ZipFileExtensions]::ExtractToFile($entry, $part, $true)
                    Set-Mode $part $entryBits
                    Move-Into $part $target
                }
            } finally {
                $zip.Dispose()
                [IO.File]::Delete($tmp)
            }
        }
    } catch {
        if ([IO.File]::Exists($tmp)) { [IO.File]::Delete($tmp) }
        Fail 2 ('cannot write ' + $path + ': ' + $_.Exception.Message)
    }
    [Console]::Out.WriteLine('hatchway: ok ' + $actual)
}
