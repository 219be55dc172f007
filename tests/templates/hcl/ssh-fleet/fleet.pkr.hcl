variable "hosts" {
  type = map(object({
    address = string
    port    = optional(number, 22)
    role    = string
  }))
  default = {
    web = { address = "192.0.2.10", role = "web" }
    db  = { address = "192.0.2.20", port = 2222, role = "database" }
  }
}

variable "ssh_username" {
  type    = string
  default = "deploy"
}

variable "ssh_password" {
  type      = string
  default   = "change-me"
  sensitive = true
}

locals {
  packages = {
    web      = ["nginx", "curl"]
    database = ["postgresql"]
  }
  motd = templatefile("files/motd.tpl", { roles = [for h in var.hosts : h.role] })
}

source "null" "web" {
  communicator = "ssh"
  ssh_host     = var.hosts.web.address
  ssh_port     = var.hosts.web.port
  ssh_username = var.ssh_username
  ssh_password = var.ssh_password
  ssh_timeout  = "2m"
}

source "null" "db" {
  communicator = "ssh"
  ssh_host     = var.hosts["db"].address
  ssh_port     = var.hosts["db"].port
  ssh_username = var.ssh_username
  ssh_password = var.ssh_password
}

build {
  name    = "fleet"
  sources = ["source.null.web", "source.null.db"]

  provisioner "shell" {
    inline = ["echo connected to ${build.Host} as ${build.User}"]
  }

  dynamic "provisioner" {
    for_each = local.packages
    iterator = pkgs
    labels   = ["shell"]
    content {
      inline = ["echo would install ${join(" ", pkgs.value)} for ${pkgs.key}"]
      only   = [pkgs.key == "web" ? "null.web" : "null.db"]
    }
  }

  provisioner "file" {
    content     = local.motd
    destination = "/tmp/motd"
  }

  provisioner "shell" {
    inline = ["cat /tmp/motd"]
    override = {
      db = {
        inline = ["cat /tmp/motd", "echo database host"]
      }
    }
    max_retries  = 2
    pause_before = "1s"
    timeout      = "5m"
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["echo the build of ${source.name} failed"]
  }
}
