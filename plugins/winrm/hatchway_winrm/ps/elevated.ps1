# Runs $command as $user through a scheduled task, as Packer's elevated runner does
# (packer-plugin-sdk guestexec/elevated.go): the task runs "cmd /c <command> > <log> 2>&1" with
# the highest privileges, this script echoes the log as it grows and exits with the task's result.
# An empty $password registers the task for a service account (SYSTEM) without one.
# Arguments are base64 of UTF-8, so no user name, password or command is parsed by PowerShell.
# Exit: the task's LastTaskResult; 1 when the task cannot be registered (the reason on stderr).
# hatchway-args
$ErrorActionPreference = 'Stop'
if (Test-Path variable:global:ProgressPreference) { $ProgressPreference = 'SilentlyContinue' }
function Get-Arg([string]$Value) { [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Value)) }
$name = Get-Arg $name
$user = Get-Arg $user
$password = Get-Arg $password
$command = Get-Arg $command
$log = [Environment]::ExpandEnvironmentVariables((Get-Arg $log))
$self = [Environment]::ExpandEnvironmentVariables((Get-Arg $self))
$xml = [xml]@'
<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Description>Packer elevated task</Description></RegistrationInfo>
  <Principals>
    <Principal id="Author">
      <UserId></UserId>
      <LogonType>Password</LogonType>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>false</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings><StopOnIdleEnd>false</StopOnIdleEnd><RestartOnIdle>false</RestartOnIdle></IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <WakeToRun>false</WakeToRun>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>4</Priority>
  </Settings>
  <Actions Context="Author"><Exec><Command>cmd</Command><Arguments></Arguments></Exec></Actions>
</Task>
'@
# the DOM escapes what XML needs escaped: user and command are text, never markup
$xml.Task.Principals.Principal.UserId = $user
$xml.Task.Actions.Exec.Arguments = '/c ' + $command + ' > "' + $log + '" 2>&1'
$logonType = 1
if ($password.Length -eq 0) {
    $logonType = 5
    $password = $null
    $node = $xml.Task.Principals.Principal.Item('LogonType')
    $node.ParentNode.RemoveChild($node) | Out-Null
}
$service = New-Object -ComObject 'Schedule.Service'
$service.Connect()
$task = $service.NewTask($null)
$task.XmlText = $xml.OuterXml
$folder = $service.GetFolder('\')
try {
    $folder.RegisterTaskDefinition($name, $task, 6, $user, $password, $logonType, $null) | Out-Null
} catch {
    [Console]::Error.WriteLine('hatchway: cannot register the elevated task for ' + $user + ': ' + $_.Exception.Message)
    exit 1
}
$registered = $folder.GetTask('\' + $name)
$registered.Run($null) | Out-Null
$waited = 0
while (($registered.State -ne 4) -and ($waited -lt 10)) {
    Start-Sleep -Seconds 1
    $waited++
}
$line = 0
do {
    Start-Sleep -Milliseconds 100
    if (Test-Path $log) {
        Get-Content $log | Select-Object -Skip $line | ForEach-Object {
            $line += 1
            Write-Output $_
        }
    }
} while ($registered.State -ne 3)
$result = $registered.LastTaskResult
if (Test-Path $log) { Remove-Item $log -Force -ErrorAction SilentlyContinue | Out-Null }
if ($self -and (Test-Path $self)) { Remove-Item $self -Force -ErrorAction SilentlyContinue | Out-Null }
$folder.DeleteTask('\' + $name, 0)
[Runtime.InteropServices.Marshal]::ReleaseComObject($service) | Out-Null
exit $result
