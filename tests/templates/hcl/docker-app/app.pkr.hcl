packer {
  required_version = ">= 1.7.0"
  required_plugins {
    docker = {
      version = ">= 1.0.8"
      source  = "github.com/hashicorp/docker"
    }
  }
}

locals {
  timestamp = regex_replace(timestamp(), "[- TZ:]", "")
  env_lines = [for k, v in var.app_env : "ENV ${k}=${v}"]
  changes   = concat(local.env_lines, ["WORKDIR ${var.app_env["APP_HOME"]}", "EXPOSE ${var.app_env.APP_PORT}"])
}

source "docker" "app" {
  image   = var.base_image
  pull    = false
  commit  = true
  changes = local.changes
  run_command = [
    "-d", "-i", "-t", "--network=none",
    "--entrypoint=/bin/sh", "--", "{{.Image}}",
  ]
}

build {
  name        = "app"
  description = "An application image from a local base image."
  sources     = ["source.docker.app"]

  provisioner "shell" {
    environment_vars = [for k, v in var.app_env : "${k}=${v}"]
    inline = [
      "mkdir -p $APP_HOME",
      "echo 'built ${local.timestamp} by ${build.name}' > $APP_HOME/BUILD",
    ]
  }

  provisioner "file" {
    content     = <<-EOT
      #!/bin/sh
      echo "hello from ${source.name} on port ${var.app_env.APP_PORT}"
    EOT
    destination = "/opt/app/hello.sh"
  }

  post-processors {
    post-processor "docker-tag" {
      repository = var.repository
      tags       = var.tags
    }
    post-processor "docker-save" {
      path = "${path.root}/output/${replace(var.repository, "/", "-")}.tar"
    }
  }
}
