locals {
  install_features = [for f in var.features : "Install-WindowsFeature -Name ${f} -IncludeManagementTools"]
}

source "null" "windows" {
  communicator   = "winrm"
  winrm_host     = var.winrm_host
  winrm_username = var.winrm_username
  winrm_password = var.winrm_password
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = "30m"
}

build {
  sources = ["source.null.windows"]

  provisioner "powershell" {
    inline = concat(["$ErrorActionPreference = 'Stop'"], local.install_features)
  }

  provisioner "windows-restart" {
    restart_timeout = "15m"
  }

  provisioner "powershell" {
    elevated_user     = var.winrm_username
    elevated_password = var.winrm_password
    inline            = ["Get-WindowsFeature | Where-Object Installed | Select-Object -ExpandProperty Name"]
  }

  provisioner "windows-shell" {
    inline = ["echo built by %PACKER_BUILD_NAME%"]
  }
}
