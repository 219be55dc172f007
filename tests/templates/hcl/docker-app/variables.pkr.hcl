variable "base_image" {
  type        = string
  default     = "debian:bookworm-slim"
  description = "The image the build starts from."
}

variable "repository" {
  type    = string
  default = "example/app"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*$", var.repository))
    error_message = "The repository must be a lowercase Docker repository name."
  }
}

variable "tags" {
  type    = list(string)
  default = ["latest"]
}

variable "app_env" {
  type = map(string)
  default = {
    APP_HOME = "/opt/app"
    APP_PORT = "8080"
  }
}
