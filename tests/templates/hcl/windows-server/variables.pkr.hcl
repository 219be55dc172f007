variable "winrm_host" {
  type    = string
  default = "192.0.2.30"
}

variable "winrm_username" {
  type    = string
  default = "Administrator"
}

variable "winrm_password" {
  type      = string
  sensitive = true
}

variable "features" {
  type        = list(string)
  default     = ["Web-Server", "Web-Mgmt-Tools"]
  description = "Windows features to install."
}
