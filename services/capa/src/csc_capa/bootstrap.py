"""Composition root of the capa service."""

from __future__ import annotations

from pydantic import Field

from csc_capa.application import CapaApplication
from csc_capa.blobs import blob_store
from csc_capa.entrypoints.http import evidence_handlers, routes
from csc_capa.evidence import EVIDENCE_TYPES, known_types
from csc_capa.projections import Investigations
from csc_capa.public import to_public
from csc_capa.report_forms import validate_template
from csc_messaging.runtime import ConsumerSpec
from csc_messaging.settings import ServiceSettings


class CapaSettings(ServiceSettings):
    http_port: int = 8003
    evidence_store: str = Field(
        default="",
        description="Where evidence bytes go: a directory, or s3://bucket/prefix "
        "(CSC_EVIDENCE_STORE); empty: <data dir>/capa-evidence.",
    )
    evidence_s3_endpoint: str | None = Field(
        default=None, description="An S3-compatible endpoint (MinIO, Ceph); AWS when unset."
    )
    evidence_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    evidence_media_types: list[str] = Field(
        default_factory=lambda: list(EVIDENCE_TYPES),
        description="The evidence types accepted, each checked against the file's content: "
        "a subset of " + ", ".join(EVIDENCE_TYPES) + ".",
    )


def _application(settings: ServiceSettings, env: dict[str, str]) -> CapaApplication:
    s = settings if isinstance(settings, CapaSettings) else CapaSettings()
    return CapaApplication(
        env=env,
        blobs=blob_store(s.evidence_store, s.data_dir, s.evidence_s3_endpoint),
        max_evidence_bytes=s.evidence_max_bytes,
        evidence_media_types=known_types(s.evidence_media_types),
        check_template=validate_template,
    )


CAPA = ConsumerSpec(
    name="capa",
    settings_class=CapaSettings,
    application_class=CapaApplication,
    read_model_class=Investigations,
    routes=routes,
    subscribes_to=["intake", "returns"],
    title="Customer Service Control — capa",
    description="Complaint investigation (4.4.3) and corrective and preventive action run as "
    "an 8D (4.4.4, 4.3.4). A quality complaint from intake or a PNPR from returns opens an "
    "investigation owned by QC; QC contacts the customer, asks for samples or photos "
    "(evidence is stored by content hash), and confirms the complaint, finds it not "
    "confirmed, or finds misuse (4.2.3, no CAPA). A confirmed complaint gets a "
    "cross-functional team and an 8D, D0-D8, that closes only after effectiveness is "
    "verified; an ineffective result reopens it at root cause. Each CAPA prints as the "
    "customer's own format, an 8D report or the company's CPAR form (PDF, XLSX). Every "
    "step is published on csc.capa.v1. Capa's store is the system of record of QC's "
    "decisions: a replay of csc.intake.v1 and csc.returns.v1 rebuilds the openings.",
    to_public=to_public,
    make_application=_application,
    http_handlers=(evidence_handlers,),
)

# The HTTP app, as ``csc-capa serve`` runs it and tests build it.
create_app = CAPA.http_app
