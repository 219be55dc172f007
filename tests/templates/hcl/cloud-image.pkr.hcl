# The shape most public templates have: a cloud builder, a data source for the base image,
# and a local shell step. Here neither the builder nor the data source is installed, so
# validation fails on exactly those two, naming the plugins to install.
packer {
  required_version = ">= 1.9.0"
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

data "amazon-ami" "ubuntu" {
  filters = {
    name                = "ubuntu/images/*ubuntu-jammy-22.04-amd64-server-*"
    root-device-type    = "ebs"
    virtualization-type = "hvm"
  }
  most_recent = true
  owners      = ["099720109477"]
  region      = var.region
}

locals {
  ami_name = "base-${formatdate("YYYYMMDD-hhmm", timestamp())}"
}

source "amazon-ebs" "ubuntu" {
  ami_name      = local.ami_name
  instance_type = "t3.micro"
  region        = var.region
  source_ami    = data.amazon-ami.ubuntu.id
  ssh_username  = "ubuntu"
  tags = {
    Name    = local.ami_name
    Builder = "packer-${packer.version}"
  }
}

build {
  sources = ["source.amazon-ebs.ubuntu"]

  provisioner "shell" {
    inline = ["sudo apt-get update", "sudo apt-get -y upgrade"]
  }

  post-processor "manifest" {
    output     = "manifest.json"
    strip_path = true
  }
}
