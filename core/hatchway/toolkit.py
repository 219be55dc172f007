"""The helpers plugins share: Hatchway's public toolkit for plugin authors.

The plugin API is exactly two modules plus the test kit:

- :mod:`hatchway`: the types (``Communicator``, ``Builder``, ``Provisioner``,
  ``PostProcessor``, ``Target``, ``Transfer``, ``OutputStream``,
  ``BuildContext``, ``Relay``...), the ``hookimpl`` marker, ``option`` for
  config fields, and the errors;
- :mod:`hatchway.toolkit` (this module): what communicators and provisioners
  need again and again, listed in ``__all__`` below;
- :mod:`hatchway.testing`: the communicator contract suite and its helpers.

Every other module (``hatchway.files``, ``hatchway.archives``,
``hatchway.relay``, ``hatchway.builtin``...) is internal: its names may
change in any release. A name exported here keeps its meaning; a change is
announced in the release notes one release before it happens.

What is here, by topic:

- **Local files**: :func:`walk` (with gitignore-style ``exclude`` patterns,
  :func:`is_excluded`), :func:`tree_size`, :func:`atomic_writer`,
  :func:`copy_stream`, :func:`copy_file`, :func:`copy_tree`,
  :func:`temp_name` (the temporary name of a file written remotely),
  :data:`CHUNK`, :class:`Entry`.
- **Archives**: tar streams built on the fly (:func:`tar_stream`,
  :func:`tar_file_stream`, :func:`tar_header`, :func:`tar_hardlink_header`,
  :func:`tar_body`, :data:`END`, :class:`IterStream`) and extracted safely
  (:func:`extract_tar`, :func:`extract_single_file`; refusals raise
  :class:`UnsafeArchive`, corrupt data :class:`BrokenArchive`).
- **Local processes**: :func:`run_process`, :func:`kill_all`.
- **Retrying**: :func:`retry` with a :class:`Backoff`; :func:`retry_until`
  and :func:`worth_retrying`, the ``start_retry_timeout`` rule of the script
  provisioners.
- **Remote paths**: :func:`remote_join`, :func:`remote_basename`.
- **Script provisioners**: :func:`script_sources`, :func:`parse_env`,
  :func:`shell_vars`, :func:`flatten_env` (``env_var_format``), :func:`sh_escape`,
  :func:`go_sprintf`, :func:`unix_lines`, :func:`exit_codes`, and the ``check()`` helpers :func:`one_source`,
  :func:`env_problems`, :func:`runs_the_script`.
- **Secrets**: :func:`add_secret` (masked in all output from then on),
  :func:`redact`.
- **Errors**: the same classes as :mod:`hatchway` (``HatchwayError`` and
  below), re-exported so one import serves.
"""
from __future__ import annotations

from .archives import (
    END,
    BrokenArchive,
    IterStream,
    UnsafeArchive,
    extract_single_file,
    extract_tar,
    tar_body,
    tar_file_stream,
    tar_hardlink_header,
    tar_header,
    tar_stream,
)
from .builtin.scripts import (env_problems, exit_codes, flatten_env, go_sprintf, one_source, parse_env, runs_the_script,
                              script_sources, sh_escape, shell_vars, unix_lines)
from .errors import (
    BuildCancelled,
    CommandTimeout,
    CommunicatorError,
    ConfigError,
    ConfigProblem,
    ConnectError,
    HatchwayError,
    PluginError,
    ProvisionerError,
    RemotePathError,
    RetryableConnectError,
)
from .files import (
    CHUNK,
    Entry,
    atomic_writer,
    copy_file,
    copy_stream,
    copy_tree,
    exclude_problems,
    is_excluded,
    temp_name,
    tree_size,
    walk,
)
from .process import kill_all, run_process
from .redact import add_secret, redact
from .relay import remote_basename, remote_join
from .retry import Backoff, retry, retry_until, worth_retrying

__all__ = [
    # local files
    "CHUNK",
    "Entry",
    "atomic_writer",
    "copy_file",
    "copy_stream",
    "copy_tree",
    "exclude_problems",
    "is_excluded",
    "temp_name",
    "tree_size",
    "walk",
    # archives
    "END",
    "BrokenArchive",
    "IterStream",
    "UnsafeArchive",
    "extract_single_file",
    "extract_tar",
    "tar_body",
    "tar_file_stream",
    "tar_hardlink_header",
    "tar_header",
    "tar_stream",
    # local processes
    "kill_all",
    "run_process",
    # retrying
    "Backoff",
    "retry",
    "retry_until",
    "worth_retrying",
    # remote paths
    "remote_basename",
    "remote_join",
    # script provisioners
    "env_problems",
    "one_source",
    "parse_env",
    "runs_the_script",
    "script_sources",
    "shell_vars",
    "flatten_env",
    "sh_escape",
    "go_sprintf",
    "unix_lines",
    "exit_codes",
    # secrets
    "add_secret",
    "redact",
    # errors
    "BuildCancelled",
    "CommandTimeout",
    "CommunicatorError",
    "ConfigError",
    "ConfigProblem",
    "ConnectError",
    "HatchwayError",
    "PluginError",
    "ProvisionerError",
    "RemotePathError",
    "RetryableConnectError",
]
