"""Runs the builds of a plan side by side: builder -> connect -> provision -> post-process -> cleanup.

Each build runs in its own thread with its own builder, communicator and
relay: builds share nothing mutable but the UI (which is thread-safe) and
the cancellation flag. Cleanup always runs, on success, failure and
interruption alike, unless ``-on-error=abort`` asked to keep a failed
machine for inspection.

Once the machine is up (and connected), the build's values are known
(:func:`build_values`): provisioners and post-processors whose options use
``{{build `Host`}}`` are configured again with them (late rendering). When
a build fails while provisioning, the template's ``error-cleanup-provisioner``
runs before cleanup, as in Packer.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import attrs

from . import redact
from .communicator import Communicator, Target
from .components import Artifact, Builder
from .context import BuildContext
from .durations import Duration
from .errors import BuildCancelled, CommandTimeout, CommunicatorError, HatchwayError, ProvisionerError
from .logs import CallLogger
from .plugins import Plugins
from .relay import Relay
from .template.functions import RenderContext, render
from .template.validate import BuildPlan, Plan, StepPlan
from .ui import UI, BuildUI

__all__ = ["Runner", "BuildResult"]

log = logging.getLogger("hatchway.runner")

ON_ERROR = ("cleanup", "abort", "ask")


@attrs.define
class BuildResult:
    name: str
    status: str  # "succeeded" | "failed" | "cancelled"
    error: str = ""
    artifacts: List[Artifact] = attrs.field(factory=list)
    duration: float = 0.0
    left_behind: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@attrs.define(eq=False)
class _Active:
    """A running build: what an interrupt must stop and what could be left behind."""

    name: str
    builder: Builder
    relay: Optional[Relay] = None
    stage: str = "starting"
    cleaned: bool = False
    #: Provisioning has started and post-processing has not: a failure now runs the error-cleanup-provisioner.
    provisioning: bool = False
    #: The build's render context with its ``{{build}}`` values, once the machine is up.
    late: Optional[RenderContext] = None


class Runner:
    """Runs a :class:`Plan`. Call :meth:`run` once; :meth:`interrupt` from a signal handler."""

    def __init__(self, plan: Plan, ui: UI, plugins: Plugins, *, parallel: int = 0, on_error: str = "cleanup",
                 debug: bool = False, force: bool = False) -> None:
        self.plan = plan
        self.ui = ui
        self.plugins = plugins
        self.parallel = 1 if debug else parallel
        self.on_error = on_error
        self.debug = debug
        self.force = force
        self.cancelled = threading.Event()
        #: ``{{build `PackerRunUUID`}}``: one per run, as Packer's PACKER_RUN_UUID.
        self.run_uuid = str(uuid.uuid4())
        self._active: Dict[str, _Active] = {}
        self._lock = threading.Lock()

    # -- the whole run -----------------------------------------------------
    def run(self) -> List[BuildResult]:
        """Run every build (at most ``parallel`` at once, 0 = all) and return their results in plan order."""
        limit = threading.Semaphore(self.parallel if self.parallel > 0 else len(self.plan.builds))
        results: Dict[str, BuildResult] = {}

        def work(build: BuildPlan) -> None:
            with limit:
                if self.cancelled.is_set():
                    results[build.name] = BuildResult(build.name, "cancelled", "not started: interrupted")
                    return
                results[build.name] = self.run_build(build)

        threads = [threading.Thread(target=work, args=(b,), name=f"build-{b.name}", daemon=True)
                   for b in self.plan.builds]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # short joins keep the main thread responsive to signals
                thread.join(0.1)
        ordered = [results.get(b.name) or BuildResult(b.name, "failed", "the build thread died") for b in self.plan.builds]
        self.summary(ordered, time.monotonic() - start)
        return ordered

    def interrupt(self) -> None:
        """Cancel every build: stop running commands, then let each build clean up."""
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        with self._lock:
            active = list(self._active.values())
        for build in active:
            if build.relay is not None:
                threading.Thread(target=_quietly, args=(build.relay.hook.cleanup,), daemon=True).start()

    def left_behind(self) -> List[str]:
        """What a hard stop now would leave: builds whose cleanup has not finished."""
        with self._lock:
            return [f"{b.name}: {b.builder.describe() or 'its machine'} (was {b.stage})"
                    for b in self._active.values() if not b.cleaned]

    # -- one build ---------------------------------------------------------
    def run_build(self, build: BuildPlan) -> BuildResult:
        ui = self.ui.build(build.name)
        started = time.monotonic()
        ctx = BuildContext(
            # the name plugins see (PACKER_BUILD_NAME): HCL2's source name, JSON's build name
            build_name=build.render_context.build_name, build_type=build.type, ui=ui,
            cancelled=self.cancelled,
            template_dir=self.plan.template.directory, render=self._renderer(build.render_context),
            debug=self.debug, force=self.force,
        )
        builder: Builder = build.builder_cls(build.builder_config)
        active = _Active(build.name, builder)
        with self._lock:
            self._active[build.name] = active
        status, error, artifacts, left = "succeeded", "", [], ""
        try:
            active.stage = "creating the machine"
            ui.say(f"Creating the machine with the {build.type} builder...")
            target = builder.run(ctx)
            ctx.check_cancelled()
            communicator: Communicator = build.communicator_cls(build.communicator_config, target, build.name)
            relay = Relay(communicator, self._observers(build.name, ui))
            active.relay = ctx.communicator = relay
            if communicator.connects:
                active.stage = "connecting"
                self._connect(ctx, build, communicator, relay)
            values = build_values(build, target, communicator, self.run_uuid)
            late = active.late = attrs.evolve(build.render_context, build_values=values)
            ctx.render = self._renderer(late)
            active.provisioning = True
            for step in build.provisioners:
                ctx.check_cancelled()
                active.stage = f"provisioning with {step.type} ({step.path})"
                self._provision(ctx, step, late)
                self._debug_pause(ui, f"provisioner {step.type}")
            active.stage = "making the artifact"
            artifacts = self._artifacts(ctx, builder, build, late, active)
        except BuildCancelled:
            status, error = "cancelled", "interrupted"
        except HatchwayError as exc:
            status, error = ("cancelled", "interrupted") if self.cancelled.is_set() else ("failed", str(exc))
        except Exception as exc:  # a bug in a plugin or in Hatchway: say so, keep the traceback in the log
            log.debug("build %s crashed", build.name, exc_info=True)
            status, error = "failed", f"internal error in a plugin or in Hatchway: {type(exc).__name__}: {exc}"
        if status != "succeeded":
            if status == "failed":
                ui.error(f"Build failed: {error}")
            else:
                ui.error("Build was interrupted")
        if status == "failed" and self._keep_machine(ui):
            left = builder.describe() or (active.relay.communicator.describe() if active.relay else "")
            ui.error(f"-on-error=abort: the machine is left as it is for inspection: {left}")
            if active.relay is not None:
                _quietly(active.relay.cleanup)  # close connections; the machine itself stays
        else:
            if status == "failed" and active.provisioning and build.cleanup_provisioner is not None:
                error = self._error_cleanup(ctx, build, error, active.late)
            self._cleanup(ui, ctx, builder, active)
        active.cleaned = True
        with self._lock:
            self._active.pop(build.name, None)
        return BuildResult(build.name, status, error, artifacts, time.monotonic() - started, left)

    def _observers(self, build_name: str, ui: BuildUI) -> List[Any]:
        observers: List[Any] = [CallLogger(build_name), ui.transfer_observer()]
        for plugin, factory in self.plugins.observers:
            try:
                observers.append(factory(build_name))
            except Exception as exc:
                ui.error(f"observer of plugin {plugin!r} failed to start: {exc}")
        return observers

    def _connect(self, ctx: BuildContext, build: BuildPlan, communicator: Communicator, relay: Relay) -> None:
        ui = ctx.ui
        timeout = communicator.connect_timeout()
        ui.say(f"Using {build.communicator_name} communicator to connect: {communicator.describe()}")
        ui.say(f"Waiting for {build.communicator_name} to become available...")

        def on_retry(exc: BaseException, attempt: int) -> None:
            log.debug("%s: connect attempt %d: %s", build.name, attempt, exc)
            if attempt in (1, 5) or attempt % 20 == 0:
                ui.message(f"Waiting: {exc}")

        pause = float(getattr(build.communicator_config, "pause_before_connecting", 0) or 0)
        if pause > 0:
            ui.say(f"Pausing {Duration(pause)} before connecting...")
        relay.wait_connected(timeout, self.cancelled, on_retry, pause)
        ui.say(f"Connected to {build.communicator_name}!")

    def _error_cleanup(self, ctx: BuildContext, build: BuildPlan, error: str, late: Optional[RenderContext]) -> str:
        """Packer's ``error-cleanup-provisioner`` (``StepProvision.Cleanup``); returns the build's error."""
        step = build.cleanup_provisioner
        assert step is not None
        ctx.ui.say("Provisioning step had errors: Running the cleanup provisioner, if present...")
        try:
            self._provision(ctx, step, late)
        except HatchwayError as exc:
            ctx.ui.error(f"Cleanup provisioner failed: {exc}")
            return f"Cleanup failed: {exc}. Original Provisioning error: {error}"
        except Exception as exc:  # a bug in the provisioner: keep the build's own error first
            log.debug("error-cleanup-provisioner crashed", exc_info=True)
            return f"Cleanup failed: {type(exc).__name__}: {exc}. Original Provisioning error: {error}"
        return error

    def _provision(self, ctx: BuildContext, step: StepPlan, late: Optional[RenderContext] = None) -> None:
        common = step.common
        config = step.late_config(late) if late is not None else step.config
        if common.pause_before > 0:
            ctx.ui.say(f"Pausing {common.pause_before} before the next provisioner...")
            if self.cancelled.wait(common.pause_before):
                raise BuildCancelled("cancelled")
        attempts = common.max_retries + 1
        for attempt in range(1, attempts + 1):
            provisioner = step.cls(config)
            ctx.deadline = time.monotonic() + common.timeout if common.timeout > 0 else None
            try:
                provisioner.provision(ctx)
                return
            except BuildCancelled:
                raise
            except CommandTimeout:
                cause = f"timed out after {common.timeout}"
            except (ProvisionerError, CommunicatorError) as exc:
                cause = str(exc)
            finally:
                ctx.deadline = None
            if self.cancelled.is_set():
                raise BuildCancelled("cancelled")
            if attempt < attempts:
                ctx.ui.error(f"{step.type} provisioner failed ({cause}); retrying ({attempt}/{common.max_retries})")
                continue
            if common.continue_on_error:
                ctx.ui.error(f"the {step.type} provisioner ({step.path}) failed: {cause}; continuing "
                             "(continue_on_error)")
                return
            raise ProvisionerError(f"the {step.type} provisioner ({step.path}) failed: {cause}")

    def _artifacts(self, ctx: BuildContext, builder: Builder, build: BuildPlan, late: RenderContext,
                   active: _Active) -> List[Artifact]:
        artifact = builder.artifact(ctx)
        active.provisioning = False  # post-processor failures do not run the error-cleanup-provisioner (Packer)
        if not build.post_processors:
            return [] if artifact is None else [artifact]
        if artifact is None:  # post-processors still run (Packer's null builder gives an empty artifact)
            artifact = Artifact(builder=build.type)
        out: List[Artifact] = []
        keep = False
        for chain in build.post_processors:
            current = artifact
            for step in chain:
                ctx.check_cancelled()
                ctx.ui.say(f"Running post-processor: {step.type}")
                try:
                    current = step.cls(step.late_config(late)).process(ctx, current)
                except HatchwayError as exc:
                    raise HatchwayError(f"the {step.type} post-processor ({step.path}) failed: {exc}") from None
                keep = keep or step.keep_input_artifact
            out.append(current)
        return ([artifact] if keep else []) + out

    def _cleanup(self, ui: BuildUI, ctx: BuildContext, builder: Builder, active: _Active) -> None:
        active.stage = "cleaning up"
        if active.relay is not None:
            try:
                active.relay.cleanup()
            except Exception as exc:
                ui.error(f"communicator cleanup failed: {exc}")
        try:
            builder.cleanup(ctx)
        except Exception as exc:
            log.debug("builder cleanup failed", exc_info=True)
            ui.error(f"builder cleanup failed: {exc}; {builder.describe()}")

    def _keep_machine(self, ui: BuildUI) -> bool:
        if self.on_error == "abort":
            return True
        if self.on_error == "ask" and sys.stdin.isatty():
            with self._lock:
                answer = input(f"[{ui.name}] Build failed. [c] clean up, [a] abort and keep the machine: ").strip()
            return answer.lower().startswith("a")
        return False

    def _debug_pause(self, ui: BuildUI, step: str) -> None:
        if self.debug and sys.stdin.isatty() and not self.cancelled.is_set():
            input(redact.redact(f"==> {ui.name}: Pausing after {step}. Press enter to continue. "))

    @staticmethod
    def _renderer(base: RenderContext) -> Callable[[str, Optional[Dict[str, Any]]], str]:
        def render_late(text: str, data: Optional[Dict[str, Any]] = None) -> str:
            return render(text, attrs.evolve(base, data=dict(data or {})))

        return render_late

    # -- the summary -------------------------------------------------------
    def summary(self, results: List[BuildResult], elapsed: float) -> None:
        ui = self.ui
        ui.say(f"==> Wait completed after {Duration(round(elapsed, 3))}")
        failed = [r for r in results if not r.ok]
        if failed:
            ui.error("==> Some builds didn't complete successfully and had errors:")
            for r in failed:
                ui.error(f"--> {r.name}: {r.error}")
        for r in results:
            ui.build(r.name).machine("build-summary", r.status, r.error)
        done = [r for r in results if r.ok]
        if done:
            ui.say("==> Builds finished. The artifacts of successful builds are:")
            for r in done:
                if not r.artifacts:
                    ui.message(f"--> {r.name}: (no artifact)")
                for i, artifact in enumerate(r.artifacts):
                    ui.message(f"--> {r.name}: {artifact}")
                    ui.build(r.name).machine("artifact", str(i), "id", artifact.id, str(artifact))


def build_values(build: BuildPlan, target: Target, communicator: Communicator, run_uuid: str) -> Dict[str, str]:
    """``{{build `NAME`}}`` values of a running build, as Packer's ``PopulateProvisionHookData``.

    Read from the builder's :class:`Target` and the communicator's config
    (``ssh_*``/``winrm_*`` keys); what is unknown is ``""``, or Packer's
    ``ERR_..._NOT_IMPLEMENTED_BY_BUILDER`` marker for the id and HTTP values.
    Passwords and private keys are registered as secrets.
    """
    config = build.communicator_config
    name = build.communicator_name

    def pick(*keys: str) -> str:
        for key in keys:
            try:  # a property or method of the communicator (``host``, ``port()``) may raise: then unknown
                value = getattr(communicator, key, None)
                value = value() if callable(value) else value
            except Exception:
                value = None
            if value in (None, ""):
                value = getattr(config, key, None)
            if value not in (None, "", 0):
                return str(value)
        return ""

    data = target.data or {}
    host = pick("host", f"{name}_host") or (target.host or "")
    port = pick("port", f"{name}_port") or (str(target.port) if target.port else "")
    user = pick(f"{name}_username", "username")
    password = pick(f"{name}_password", "password") or str(data.get(f"{name}_password", "") or "")
    private_key = str(data.get("ssh_private_key", "") or "")
    key_file = getattr(config, "ssh_private_key_file", None)
    if not private_key and key_file:
        try:
            private_key = Path(key_file).expanduser().read_text(encoding="utf-8", errors="replace")[:65536]
        except OSError:
            private_key = ""
    http_ip, http_port = str(data.get("http_ip", "") or ""), str(data.get("http_port", "") or "")
    values = {
        "ID": str(data.get("instance_id") or data.get("container_id") or "ERR_ID_NOT_IMPLEMENTED_BY_BUILDER"),
        "Host": host,
        "Port": port,
        "User": user,
        "Password": password,
        "ConnType": name,
        "SSHPublicKey": str(data.get("ssh_public_key", "") or ""),
        "SSHPrivateKey": private_key,
        "WinRMPassword": password if name == "winrm" else str(data.get("winrm_password", "") or ""),
        "PackerRunUUID": run_uuid,
        "PackerHTTPIP": http_ip or "ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER",
        "PackerHTTPPort": http_port or "ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER",
        "PackerHTTPAddr": f"{http_ip}:{http_port}" if http_ip and http_port else "ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER",
    }
    for key in ("Password", "WinRMPassword"):
        redact.add_secret(values[key])
    # a private key is masked line by line (its lines are the secret; registering the whole key, which
    # holds newlines, would make remote output wait to see whether a key begins)
    for line in private_key.splitlines():
        if len(line) >= 16 and "-----" not in line:
            redact.add_secret(line)
    return values


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception:
        log.debug("ignored error in %r", fn, exc_info=True)
