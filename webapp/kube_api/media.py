"""Content negotiation: which representation a request's ``Accept`` asks for, and body decoding.

kubectl asks for Tables (``as=Table;g=meta.k8s.io``), aggregated discovery
(``as=APIGroupDiscoveryList;g=apidiscovery.k8s.io``) or protobuf-then-JSON; we always answer JSON
in the first form we support, in the client's order of preference.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.apiserver.manifests import MAX_BODY, load_json, load_yaml
from engine.errors import BadRequest, NotAcceptable, RequestEntityTooLarge, UnsupportedMediaType

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
DISCOVERY_V2_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
DISCOVERY_V2BETA1_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
PROTOBUF = "application/vnd.kubernetes.protobuf"

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header: ``type/subtype`` plus its parameters."""

    type: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def is_json(self) -> bool:
        return self.type in ("application/json", "application/*", "*/*", "application/yaml")


def parse_accept(header: str | None) -> list[MediaRange]:
    """Split an Accept header into media ranges, in the client's order (q-values are ignored, as kube does)."""
    out = []
    for part in (header or "").split(","):
        part = part.strip()
        if not part:
            continue
        pieces = [p.strip() for p in part.split(";")]
        params = {}
        for p in pieces[1:]:
            k, _, v = p.partition("=")
            params[k.strip().lower()] = v.strip().strip('"')
        out.append(MediaRange(pieces[0].lower(), params))
    return out


def choose_output(header: str | None, *, allow_table: bool = True) -> str:
    """Pick ``"table"``, ``"partial"``, ``"partiallist"`` or ``"json"`` for an object/list response.

    Raises NotAcceptable when nothing acceptable is offered (e.g. protobuf only).
    """
    ranges = parse_accept(header)
    if not ranges:
        return "json"
    for r in ranges:
        as_ = r.params.get("as")
        if as_:
            group = r.params.get("g", "")
            if group != "meta.k8s.io" or r.type != "application/json":
                continue
            if as_ == "Table" and allow_table and r.params.get("v") in ("v1", "v1beta1", None):
                return "table"
            if as_ == "PartialObjectMetadata":
                return "partial"
            if as_ == "PartialObjectMetadataList":
                return "partiallist"
            continue
        if r.is_json or r.type == "application/yaml":
            return "json"
    raise NotAcceptable("only the following media types are accepted: application/json, application/yaml, "
                        "application/json;as=Table;v=v1;g=meta.k8s.io")


def wants_aggregated_discovery(header: str | None) -> str | None:
    """The aggregated discovery content type the client asks for first, or None for the legacy shape."""
    for r in parse_accept(header):
        if r.params.get("as") == "APIGroupDiscoveryList" and r.params.get("g") == "apidiscovery.k8s.io":
            if r.params.get("v") == "v2":
                return DISCOVERY_V2_CONTENT_TYPE
            if r.params.get("v") == "v2beta1":
                return DISCOVERY_V2BETA1_CONTENT_TYPE
            continue
        if r.is_json:
            return None
    return None


def read_body(request) -> bytes:
    """The raw request body, refusing anything over 3 MiB with 413 RequestEntityTooLarge.

    A declared Content-Length over the limit is refused before a byte of the body is read (the client,
    if it sent ``Expect: 100-continue``, never uploads it); a chunked body is read only up to the limit.
    """
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise RequestEntityTooLarge(f"the request body is too large: it declares {length} bytes and the limit is "
                                    f"{MAX_BODY} bytes (3 MiB)")
    data = request.stream.read(MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise RequestEntityTooLarge(f"the request body is too large: the limit is {MAX_BODY} bytes (3 MiB)")
    return data


def _mime(request) -> str:
    return (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()


PROTOBUF_HELP = (
    "the body of the request was in an unknown format - accepted media types include: application/json, "
    "application/yaml. Kubedrill does not decode protobuf request bodies, which kubectl 1.32 sends for "
    "generator commands such as `kubectl create deployment|configmap|secret|namespace|service`. "
    "Use `kubectl create -f <file>`, `kubectl apply -f <file>`, `kubectl run`, `kubectl expose`, or add "
    "`-o yaml --dry-run=client | kubectl apply -f -` to a generator command")


def decode_object(request) -> dict:
    """Decode a POST/PUT body (JSON or YAML) into an object dict; 400/413/415 on bad input."""
    mime = _mime(request)
    raw = read_body(request)
    if mime == PROTOBUF:
        raise UnsupportedMediaType(PROTOBUF_HELP)
    if mime in ("", "application/json", "text/json", "*/*"):
        obj = _load_json(raw)
    elif mime in ("application/yaml", "application/x-yaml", "text/yaml"):
        obj = _load_yaml(raw)
    else:
        raise UnsupportedMediaType("the body of the request was in an unknown format - accepted media types "
                                   "include: application/json, application/yaml")
    if not isinstance(obj, dict):
        raise BadRequest("the body of the request must be a JSON or YAML object")
    return obj


def decode_patch(request) -> tuple[str, object]:
    """Decode a PATCH body: its patch type (json/merge/strategic/apply) and the parsed document."""
    mime = _mime(request)
    patch_type = PATCH_TYPES.get(mime)
    raw = read_body(request)
    if patch_type is None:
        raise UnsupportedMediaType("the body of the request was in an unknown format - accepted media types "
                                   "include: application/json-patch+json, application/merge-patch+json, "
                                   "application/apply-patch+yaml, application/strategic-merge-patch+json")
    if patch_type == "apply":
        doc = _load_yaml(raw)
        if not isinstance(doc, dict):
            raise BadRequest("error decoding YAML: the apply patch must be an object")
    else:
        doc = _load_json(raw)
        if patch_type == "json" and not isinstance(doc, list):
            raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        if patch_type != "json" and not isinstance(doc, dict):
            raise BadRequest("error decoding patch: the patch must be a JSON object")
    return patch_type, doc


def decode_optional_json(request) -> dict | None:
    """Decode an optional JSON body (DeleteOptions); None when empty."""
    raw = read_body(request)
    if not raw.strip():
        return None
    mime = _mime(request)
    if mime == PROTOBUF:
        raise UnsupportedMediaType(PROTOBUF_HELP)
    obj = _load_yaml(raw) if mime in ("application/yaml", "application/x-yaml") else _load_json(raw)
    if not isinstance(obj, dict):
        raise BadRequest("the body of the request must be a JSON object")
    return obj


def _load_json(raw: bytes):
    return load_json(raw)


def _load_yaml(raw: bytes):
    return load_yaml(raw)
