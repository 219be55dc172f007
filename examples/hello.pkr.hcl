# Hatchway's first build, in HCL2: the same as hello.json. No server needed: the machine being built is
# this one. Run it with:  hatchway build examples/hello.pkr.hcl

variable "greeting" {
  type        = string
  default     = "Hello from Hatchway"
  description = "What the build says."
}

variable "workdir" {
  type    = string
  default = "/tmp/hatchway-hello"
}

source "null" "hello" {
  communicator = "local"
}

build {
  description = "Hatchway's first build: no server needed, the machine being built is this one."
  sources     = ["source.null.hello"]

  provisioner "shell" {
    inline = [
      "mkdir -p ${var.workdir}",
      "echo \"$GREETING, build $PACKER_BUILD_NAME\" | tee ${var.workdir}/greeting.txt",
      "uname -sm",
    ]
    environment_vars = ["GREETING=${var.greeting}"]
  }

  provisioner "file" {
    content     = "made by ${source.name} (${source.type}) at ${formatdate("YYYY-MM-DD hh:mm:ss", timestamp())}\n"
    destination = "${var.workdir}/stamp.txt"
  }

  provisioner "file" {
    direction   = "download"
    source      = "${var.workdir}/"
    destination = "${path.root}/output/"
  }

  provisioner "shell-local" {
    inline = ["cd ${path.root}/output && echo downloaded: $(ls) && cat greeting.txt stamp.txt"]
  }
}
