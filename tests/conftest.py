"""Shared test set-up: ``tests/`` is on sys.path, so ``import servers.sshd`` works everywhere."""
