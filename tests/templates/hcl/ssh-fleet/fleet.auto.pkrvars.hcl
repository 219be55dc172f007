ssh_username = "builder"
