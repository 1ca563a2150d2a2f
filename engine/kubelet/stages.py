"""The kubelet's pod lifecycle as data: a state machine of stages, after KWOK's ``kustomize/stage/pod/general``.

Each stage says *when* it applies (the scope — pod or container — and the state it starts from, plus an
optional fault that must be active and an optional ``selector`` check), *how long* it takes (a Profile
field giving a ``(min, max)`` range, drawn with the cluster's seeded rng, or a back-off), *what state
follows* (``next``), *what it does* (``on_start``/``effect``: names in the kubelet's effect registry,
engine/kubelet/containers.py ``EFFECTS``) and *which events* the kubelet records. The kubelet
(engine/kubelet/containers.py) is the interpreter: it picks the first matching stage for the pod or a
container, waits the delay on the simulated clock, enters ``next``, runs the effect, and looks again —
level-triggered, so a kubelet that was stopped simply resumes from the state it finds.

Faults are data too: a fault kind (``crash-loop``, ``oom``, ``image-pull``) selects a different stage
for the same state, never a special code path; ``readiness`` and ``liveness`` act through the probes
(engine/kubelet/probes.py).

Pod states:       Bound → VolumesMounted → SandboxReady (then the containers run) → (Terminating)
Container states: Waiting → Pulled → Created → Running → Exited → (restart: BackOff → Waiting)
                  Waiting → PullFailed → PullBackOff → Waiting          (image cannot be pulled)
                  Pulled ⟲ while a ConfigMap/Secret it needs is missing (CreateContainerConfigError)
``Exited`` is the one state the table does not leave: the restart decision (restartPolicy, in code)
moves the container on at once, to one of ``AFTER_EXIT``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

NORMAL, WARNING = "Normal", "Warning"

# Fault kinds a user can inject (faults as data: each one only changes which stage matches).
FAULT_KINDS = ("crash-loop", "readiness", "liveness", "image-pull", "oom")
FAULTS_ANNOTATION = "kubedrill.io/faults"
IGNORE_SIGTERM_ANNOTATION = "kubedrill.io/ignore-sigterm"

# Tags that no registry has: pulling them fails like a typo'd tag does on a real cluster.
MISSING_TAG_MARKERS = ("doesnotexist", "does-not-exist", "nonexistent", "notfound", "not-found", "typo", "bogus",
                       "404")  # the upstream e2e tests use "webserver:404" as the image that never pulls

# Where each scope starts, and the state in which the pod scope hands over to the containers.
POD_START, SANDBOX_READY = "Bound", "SandboxReady"
CONTAINER_START = "Waiting"
# An exited container is moved on at once by the restart decision (restartPolicy, containers.py
# ``_after_exit``), not by a stage: to Done (final), Waiting (restart now) or BackOff (restart later).
EXITED = "Exited"
AFTER_EXIT = ("Done", "Waiting", "BackOff")
# Delays that are not Profile fields but the container's current back-off (set by the stage's on_start).
BACKOFF_DELAYS = ("crash_backoff", "image_pull_backoff")


@dataclass(frozen=True)
class Emit:
    """One Kubernetes Event the kubelet records; ``message`` is a ``str.format`` template.

    Fields available to templates: container, image, pod, ns, uid, node, seconds, size, error, volume,
    backoff, error_short.
    """

    reason: str
    message: str
    type: str = NORMAL
    explanation: str = ""


@dataclass(frozen=True)
class Stage:
    """One step of the lifecycle (KWOK ``Stage``: selector + delay + next + events)."""

    name: str
    scope: str                       # "pod" or "container"
    when: str                        # the state this stage starts from
    next: str                        # the state it leads to
    delay: str | None = None         # Profile field: (min, max) seconds, a float, or a back-off name
    fault: str | None = None         # only when this fault is active on the pod
    init_only: bool = False          # only for init containers
    selector: str | None = None      # kubelet check that must hold for this stage to match (else the next row)
    guard: str | None = None         # kubelet check that must pass; while it fails, ``blocked`` is emitted
    on_start: str | None = None      # effect run when the stage starts, before its delay
    effect: str | None = None        # effect run on completion, once the pod or container is in ``next``
    events_before: tuple[Emit, ...] = ()   # recorded when the stage starts
    events: tuple[Emit, ...] = ()          # recorded when the stage completes
    blocked: tuple[Emit, ...] = ()         # recorded while the guard fails
    blocked_reason: str = ""         # container ``state.waiting.reason`` while the guard fails
    waiting_reason: str = ""         # container ``state.waiting.reason`` while the stage runs
    exit_code: int | None = None     # for stages that end a container
    exit_reason: str = ""
    log: str = ""                    # the line the process writes to its log as it exits
    description: str = field(default="", compare=False)


STAGES: tuple[Stage, ...] = (
    # ---------------------------------------------------------------- pod scope
    Stage("pod-mount-volumes", "pod", POD_START, "VolumesMounted", guard="volumes_ready",
          blocked=(Emit("FailedMount", "{error}", WARNING,
                        "volume {volume} cannot be mounted ({error_short}): the pod stays ContainerCreating "
                        "until it can"),),
          description="Volumes (ConfigMap, Secret, bound PVC) are mounted before the sandbox is created."),
    Stage("pod-create-sandbox", "pod", "VolumesMounted", SANDBOX_READY, delay="sandbox_seconds",
          effect="assign-pod-ip",
          description="The pod sandbox is created and the CNI plugin gives it an IP from the node's podCIDR."),
    # ---------------------------------------------------------------- container scope: image
    Stage("container-pull-failed", "container", CONTAINER_START, "PullFailed", delay="image_pull_seconds",
          fault="image-pull", waiting_reason="ContainerCreating", effect="report-pull-error",
          events_before=(Emit("Pulling", 'Pulling image "{image}"'),),
          events=(Emit("Failed", 'Failed to pull image "{image}": {error}', WARNING,
                       "the registry has no image {image}: check the image name and tag"),
                  Emit("Failed", "Error: ErrImagePull", WARNING)),
          description="The image-pull fault (or a tag no registry has) makes the pull fail."),
    Stage("container-pull", "container", CONTAINER_START, "Pulled", delay="image_pull_seconds",
          selector="image_needs_pull", waiting_reason="ContainerCreating", effect="record-image",
          events_before=(Emit("Pulling", 'Pulling image "{image}"'),),
          events=(Emit("Pulled", 'Successfully pulled image "{image}" in {seconds} ({seconds} including waiting). '
                                 "Image size: {size} bytes."),),
          description="imagePullPolicy Always, or an image this node has not pulled yet."),
    Stage("container-image-present", "container", CONTAINER_START, "Pulled", effect="record-image",
          events=(Emit("Pulled", 'Container image "{image}" already present on machine'),),
          description="imagePullPolicy IfNotPresent and the node already has the image: no pull."),
    Stage("container-pull-error-sync", "container", "PullFailed", "PullBackOff", delay="pod_resync_seconds",
          waiting_reason="ErrImagePull",
          description="ErrImagePull stays visible until the kubelet's next sync of the pod puts it in back-off."),
    Stage("container-pull-backoff", "container", "PullBackOff", CONTAINER_START, delay="image_pull_backoff",
          waiting_reason="ImagePullBackOff", on_start="next-pull-backoff",
          events_before=(Emit("BackOff", 'Back-off pulling image "{image}"', NORMAL,
                              "the kubelet waits {backoff}s before pulling {image} again (back-off doubles up to "
                              "the maximum)"),
                         Emit("Failed", "Error: ImagePullBackOff", WARNING)),
          description="Pull back-off: initial, doubling, capped (image_pull_backoff_initial/max)."),
    # ---------------------------------------------------------------- container scope: create & start
    Stage("container-create", "container", "Pulled", "Created", guard="config_ready",
          blocked_reason="CreateContainerConfigError", effect="assign-container-id",
          blocked=(Emit("Failed", "Error: {error}", WARNING,
                        "container {container} cannot be created ({error_short}): it waits with "
                        "CreateContainerConfigError until that is fixed"),),
          events=(Emit("Created", "Created container: {container}"),),
          description="env/envFrom references must resolve, else CreateContainerConfigError."),
    Stage("container-start", "container", "Created", "Running", delay="container_start_seconds",
          effect="start-process",
          events=(Emit("Started", "Started container {container}"),),
          description="The runtime starts the process."),
    # ---------------------------------------------------------------- container scope: running → exit
    Stage("container-oom", "container", "Running", EXITED, delay="crash_run_seconds", fault="oom",
          effect="exit-process", exit_code=137, exit_reason="OOMKilled",
          log="fatal error: runtime: out of memory (container memory limit reached)",
          description="The oom fault: the process exceeds its memory limit and the kernel kills it."),
    Stage("container-crash", "container", "Running", EXITED, delay="crash_run_seconds", fault="crash-loop",
          effect="exit-process", exit_code=1, exit_reason="Error", log="error: exiting with status 1",
          description="The crash-loop fault: the process exits with code 1 every time it starts."),
    Stage("init-container-complete", "container", "Running", EXITED, delay="init_run_seconds", init_only=True,
          effect="exit-process", exit_code=0, exit_reason="Completed", log="done",
          description="An init container runs to completion before the next one starts."),
    # ---------------------------------------------------------------- container scope: restart
    Stage("container-restart-backoff", "container", "BackOff", CONTAINER_START, delay="crash_backoff",
          waiting_reason="CrashLoopBackOff", on_start="crash-loop-message",
          events_before=(Emit("BackOff", "Back-off restarting failed container {container} in pod {pod}_{ns}({uid})",
                              WARNING, "container {container} keeps exiting: the kubelet waits {backoff}s before "
                                       "restarting it (10s, 20s, 40s … up to 5m)"),),
          description="CrashLoopBackOff: first restart immediate, then initial, doubling, capped."),
)

# restartPolicy → does an exited container with this exit code get restarted?
RESTART_POLICY = {
    "Always": lambda code: True,
    "OnFailure": lambda code: code != 0,
    "Never": lambda code: False,
}

# Fallbacks for timers the profile may not define yet (the profile wins when it has the field).
PROFILE_FALLBACKS = {
    "crash_run_seconds": (0.5, 2.0),   # how long a crashing process runs before exiting
    "init_run_seconds": (1.0, 3.0),    # how long an init container takes to finish its work
    "pod_resync_seconds": (1.0, 2.0),  # until the pod worker syncs the pod again after an error
}


def stages_for(scope: str, state: str, *, init: bool, faults: frozenset[str] | set[str]) -> list[Stage]:
    """Return the stages that may apply to ``scope`` in ``state``, in table order (first match wins)."""
    out = []
    for stage in STAGES:
        if stage.scope != scope or stage.when != state:
            continue
        if stage.fault is not None and stage.fault not in faults:
            continue
        if stage.init_only and not init:
            continue
        out.append(stage)
    return out


def parse_faults(text: str | None) -> set[str]:
    """Return the fault kinds in a ``kubedrill.io/faults`` annotation ("crash-loop,readiness")."""
    if not text:
        return set()
    return {part.strip() for part in text.split(",") if part.strip() in FAULT_KINDS}


def format_faults(faults: set[str]) -> str:
    """Return the ``kubedrill.io/faults`` annotation value for ``faults``, in ``FAULT_KINDS`` order."""
    return ",".join(k for k in FAULT_KINDS if k in faults)


# ---------------------------------------------------------------------------------------------------
# Images: names, digests, sizes — deterministic functions of the image reference.

def normalize_image(image: str) -> str:
    """Return the fully qualified reference containerd reports (``nginx:1.27`` → ``docker.io/library/nginx:1.27``)."""
    ref = image
    if "@" not in ref:
        last = ref.rsplit("/", 1)[-1]
        if ":" not in last:
            ref = ref + ":latest"
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        return "docker.io/library/" + ref
    if "." in first or ":" in first or first == "localhost":
        return ref
    return "docker.io/" + ref


def image_repo(image: str) -> str:
    """Return the repository part of the fully qualified reference (no tag, no digest)."""
    full = normalize_image(image)
    if "@" in full:
        return full.split("@", 1)[0]
    head, _, tail = full.rpartition("/")
    return head + "/" + tail.split(":", 1)[0]


def image_digest(image: str) -> str:
    """Return the content digest of the image: the same reference has the same digest on every node."""
    return "sha256:" + hashlib.sha256(normalize_image(image).encode()).hexdigest()


def image_id(image: str) -> str:
    """Return ``status.containerStatuses[].imageID``: ``docker.io/library/nginx@sha256:<64 hex>``."""
    return f"{image_repo(image)}@{image_digest(image)}"


def image_size(image: str) -> int:
    """Return a stable, plausible compressed size in bytes (20-120 MB)."""
    h = int(hashlib.sha256(("size:" + normalize_image(image)).encode()).hexdigest()[:8], 16)
    return 20_000_000 + h % 100_000_000


def image_exists(image: str) -> bool:
    """Tell whether a registry would serve this image (tags containing a 'missing' marker do not exist)."""
    full = normalize_image(image)
    tag = full.rsplit(":", 1)[-1] if "@" not in full else ""
    name = full.lower()
    return not any(marker in tag.lower() or marker in name.rsplit("/", 1)[-1].split(":")[0]
                   for marker in MISSING_TAG_MARKERS)


def pull_error(image: str) -> str:
    """Return containerd's message for an image that cannot be pulled."""
    full = normalize_image(image)
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": failed to resolve '
            f'reference "{full}": {full}: not found')


def format_duration(seconds: float) -> str:
    """Render seconds as Go's ``time.Duration`` does for sub-minute values (``1.387s``, ``512ms``)."""
    if seconds < 1:
        return f"{int(round(seconds * 1000))}ms"
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"
