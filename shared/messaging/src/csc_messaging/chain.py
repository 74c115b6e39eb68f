"""Tamper-evident histories: hash chains over each service's event store, with checkpoints.

The procedure's records (the Customer Information Register 4.1.2, Field Service
Work Records 4.1.4, the PNPR 4.3.3, the CAPA forms 4.3.4/4.4.4, the monthly
report att. 4) are kept as stored events. ISO 9001 §7.5.3 asks that such
records be protected from loss of integrity and that changes be controlled; an
event store anyone with database access can edit does neither by itself. So
every stored event is hash-chained, the chain travels with the public events
to Kafka, and each relay regularly publishes its chain's head as a checkpoint
to ``csc.audit.v1``. An edit in a database then disagrees with Kafka, and a
forged Kafka record with the store (``csc audit verify`` checks both).

Definitions (SHA-256, lower-case hex; ``GENESIS`` is 64 zeros; ``u64(n)`` is n
as 8 bytes big-endian; ``frame(b)`` is ``u64(len(b)) + b``; hashes enter other
hashes as their 32 raw bytes):

- **Content** of a stored event (eventsourcing's ``StoredEvent``):
  ``frame(originator_id) + frame(originator_version) + frame(topic) + frame(state)``,
  the id as a canonical UUID string (lower case, hyphens), the version in
  decimal, ``state`` the stored bytes exactly as the store holds them.
- **Aggregate chain**: ``a_k = H("csc.chain.aggregate.v1\\0" + a_{k-1} + H(content_k))``,
  ``a_{k-1}`` the hash of the same aggregate's previous version (GENESIS before
  its first): in version order, so an event keeps its hash wherever it sits in
  the log, and a moved event is recognised as itself.
- **Log chain** over the store's notification log, in notification-id order,
  internal events included: ``L_n = H("csc.chain.log.v1\\0" + L_prev + u64(n) + a_n)``,
  ``L_prev`` the chain after the previous notification (GENESIS before the first).
- **Record chain** over the public records the relay published, in publication
  order: ``K_j = H("csc.chain.record.v1\\0" + K_{j-1} + u64(seq) + u64(prev) + a + L + r)``
  where ``r = H(u64(m) + u64(len(p_1)) + ... + u64(len(p_m)) + p_1 + ... + p_m)``,
  the parts ``p`` being the record's key, its value, then the name and value of
  each header other than the chain's own five, headers sorted by (name, value).
  It lets an auditor without store access check the records on their own.

Each public record carries five CloudEvents extension attributes (names are
lower-case letters and digits, as CloudEvents 1.0 requires): ``cscseq`` (n, the
notification id it was published from), ``cscprev`` (the cscseq of the record
published before it, 0 for the first), ``cscagg`` (a_n), ``cscchain`` (L_n)
and ``csclink`` (K_j).

A **checkpoint** (``csc.audit.v1``, key = service) is
``{"type", "service", "position", "head", "records", "link", "at"}``: L at
notification ``position``, and how many records (``records``) the relay had
published by then, the last one's ``link``. The relay writes one in the same
Kafka transaction as a batch every ``CSC_AUDIT_CHECKPOINT_EVERY``
notifications or ``CSC_AUDIT_CHECKPOINT_SECONDS`` seconds, whichever comes
first, and only when the log moved since the last one (when idle, in a
transaction of its own); a restarted relay checkpoints where it starts. The
relay keeps the same head beside its position on ``csc.relay.offsets`` and
continues from it; an offset written before the chains existed makes it
recompute the chain from the store's first notification.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from csc_messaging.codec import OutgoingMessage, extension_header

GENESIS = "0" * 64

SEQ = "cscseq"
PREV = "cscprev"
AGG = "cscagg"
CHAIN = "cscchain"
LINK = "csclink"
EXTENSIONS = (SEQ, PREV, AGG, CHAIN, LINK)
CHAIN_HEADERS = frozenset(f"ce_{name}" for name in EXTENSIONS)
# Sealing appends these headers itself (checked once here: CloudEvents names, a-z 0-9).
_SEQ_HEADER, _PREV_HEADER, _AGG_HEADER, _CHAIN_HEADER, _LINK_HEADER = (
    extension_header(name) for name in EXTENSIONS
)

CHECKPOINT_TYPE = "csc.audit.ChainCheckpoint.v1"

_AGGREGATE = b"csc.chain.aggregate.v1\x00"
_LOG = b"csc.chain.log.v1\x00"
_RECORD = b"csc.chain.record.v1\x00"


_pack_u64 = struct.Struct(">Q").pack


def _u64(n: int) -> bytes:
    return _pack_u64(n)


def _raw(hex_digest: str) -> bytes:
    return bytes.fromhex(hex_digest)


def canonical_id(originator_id: UUID | str) -> str:
    """The originator id as the chains hash it: a UUID's canonical string, else the string."""
    if isinstance(originator_id, UUID):
        return str(originator_id)
    try:
        return str(UUID(originator_id))
    except ValueError:
        return originator_id


def content(originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
    """The bytes an event's hash covers; a string id must already be ``canonical_id``."""
    oid = (str(originator_id) if isinstance(originator_id, UUID) else originator_id).encode()
    ver, top, data = str(version).encode(), topic.encode(), bytes(state)
    pack = _pack_u64
    return b"".join(
        (pack(len(oid)), oid, pack(len(ver)), ver, pack(len(top)), top, pack(len(data)), data)
    )


def content_digest(originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
    return hashlib.sha256(content(originator_id, version, topic, state)).digest()


def aggregate_step(previous: str, digest: bytes) -> str:
    """The aggregate chain one event on, from the event's ``content_digest``."""
    return hashlib.sha256(_AGGREGATE + _raw(previous) + digest).hexdigest()


def aggregate_hash(
    previous: str, originator_id: UUID | str, version: int, topic: str, state: bytes
) -> str:
    return aggregate_step(previous, content_digest(originator_id, version, topic, state))


def log_hash(previous: str, position: int, agg: str) -> str:
    return hashlib.sha256(_LOG + _raw(previous) + _u64(position) + _raw(agg)).hexdigest()


# The CloudEvents distributed-tracing extension (csc_messaging.tracing): how a record
# travelled, not what it records; a record sent with tracing off has none.
TRACE_HEADERS = frozenset({"ce_traceparent", "ce_tracestate"})


def record_digest(
    key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]]
) -> str:
    """What of a record the record chain covers: key, value and headers (not the chain's,
    nor the trace context's)."""
    parts = [key or b"", value or b""]
    for name, header_value in sorted((n, v or b"") for n, v in headers):
        if name not in CHAIN_HEADERS and name not in TRACE_HEADERS:
            parts += (name.encode(), header_value)
    lengths = struct.pack(f">{len(parts) + 1}Q", len(parts), *map(len, parts))
    return hashlib.sha256(lengths + b"".join(parts)).hexdigest()


def link_hash(previous: str, seq: int, prev_seq: int, agg: str, chain: str, digest: str) -> str:
    return hashlib.sha256(
        _RECORD
        + _raw(previous)
        + _u64(seq)
        + _u64(prev_seq)
        + _raw(agg)
        + _raw(chain)
        + _raw(digest)
    ).hexdigest()


@dataclass(frozen=True)
class Link:
    """One stored event's place in the chains."""

    position: int
    originator_id: str
    version: int
    agg: str
    head: str


@dataclass(frozen=True)
class ChainHead:
    """Where the chains stand after ``position``: kept with the relay's offset."""

    position: int = 0
    head: str = GENESIS
    records: int = 0
    link: str = GENESIS
    last_seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainHead:
        return cls(
            position=int(data["position"]),
            head=str(data["head"]),
            records=int(data.get("records", 0)),
            link=str(data.get("link", GENESIS)),
            last_seq=int(data.get("last_seq", 0)),
        )


LoadPrevious = Callable[[str, int], Sequence[StoredEvent]]
"""The stored events of one aggregate below a version, in version order."""


class AggregateHashes:
    """The last hash of each aggregate's chain, bounded, reading the store on a miss.

    Without ``load`` (a pass over the whole log from its start) nothing is evicted.
    Ids given as strings must be canonical (``canonical_id``).
    """

    def __init__(self, load: LoadPrevious | None = None, size: int = 10_000) -> None:
        self._load = load
        self._size = size
        self._last: OrderedDict[str, tuple[int, str]] = OrderedDict()

    def next(self, originator_id: UUID | str, version: int, topic: str, state: bytes) -> str:
        key = originator_id if isinstance(originator_id, str) else canonical_id(originator_id)
        previous = self.previous(key, version)
        agg = aggregate_hash(previous, key, version, topic, state)
        self._last[key] = (version, agg)
        self._last.move_to_end(key)
        if self._load is not None and len(self._last) > self._size:
            self._last.popitem(last=False)
        return agg

    def last_version(self, originator_id: UUID | str) -> int | None:
        found = self._last.get(canonical_id(originator_id))
        return found[0] if found else None

    def previous(self, key: str, version: int) -> str:
        found = self._last.get(key)
        if found is not None and (found[0] == version - 1 or self._load is None):
            return found[1]
        if self._load is None or version <= 1:
            return GENESIS  # an aggregate's first event (eventsourcing starts at version 1)
        previous = GENESIS
        for event in self._load(key, version - 1):
            previous = aggregate_hash(
                previous, key, event.originator_version, event.topic, event.state
            )
        return previous


class ChainWriter:
    """The relay's side: advances the chains notification by notification, seals records."""

    def __init__(self, head: ChainHead, aggregates: AggregateHashes | None = None) -> None:
        self.aggregates = aggregates or AggregateHashes()
        self.head = head

    @property
    def head(self) -> ChainHead:
        return ChainHead(self._position, self._head, self._records, self._link, self._last_seq)

    @head.setter
    def head(self, head: ChainHead) -> None:
        self._position, self._head = head.position, head.head
        self._records, self._link, self._last_seq = head.records, head.link, head.last_seq

    def advance(self, n: Notification) -> Link:
        """The chains after notification ``n``, the next in the log."""
        key = canonical_id(n.originator_id)
        agg = self.aggregates.next(key, n.originator_version, n.topic, n.state)
        self._position, self._head = n.id, log_hash(self._head, n.id, agg)
        return Link(n.id, key, n.originator_version, agg, self._head)

    def seal(self, message: OutgoingMessage, link: Link) -> OutgoingMessage:
        """The record with its chain attributes; the record chain moves on by it."""
        digest = record_digest(message.key, message.value, message.headers)
        prev = self._last_seq
        self._link = link_hash(self._link, link.position, prev, link.agg, link.head, digest)
        self._records += 1
        self._last_seq = link.position
        extensions = (
            (_SEQ_HEADER, str(link.position).encode()),
            (_PREV_HEADER, str(prev).encode()),
            (_AGG_HEADER, link.agg.encode()),
            (_CHAIN_HEADER, link.head.encode()),
            (_LINK_HEADER, self._link.encode()),
        )
        return OutgoingMessage(message.key, message.value, [*message.headers, *extensions])


def chain_log(notifications: Iterable[Notification], head: ChainHead | None = None) -> ChainHead:
    """The log chain's head after ``notifications`` (in id order), from ``head`` or the start."""
    writer = ChainWriter(head or ChainHead())
    for notification in notifications:
        writer.advance(notification)
    return writer.head


@dataclass(frozen=True)
class Checkpoint:
    """A relay's chain head, published to ``csc.audit.v1``."""

    service: str
    position: int
    head: str
    records: int
    link: str
    at: datetime

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "type": CHECKPOINT_TYPE,
                "service": self.service,
                "position": self.position,
                "head": self.head,
                "records": self.records,
                "link": self.link,
                "at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Checkpoint | None:
        """A checkpoint, or None for another kind of record on ``csc.audit.v1``."""
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("type") != CHECKPOINT_TYPE:
            return None
        return cls(
            service=str(data["service"]),
            position=int(data["position"]),
            head=str(data["head"]),
            records=int(data["records"]),
            link=str(data["link"]),
            at=datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00")),
        )

    @classmethod
    def of(cls, service: str, head: ChainHead, at: datetime | None = None) -> Checkpoint:
        return cls(
            service=service,
            position=head.position,
            head=head.head,
            records=head.records,
            link=head.link,
            at=at or datetime.now(UTC),
        )
