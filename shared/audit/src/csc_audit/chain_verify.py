"""Verifying the hash chains: a store against Kafka, Kafka against the checkpoints.

The chains themselves (what is hashed, the extension attributes, the checkpoint
record) are defined in ``csc_messaging.chain``; the relay computes them as it
publishes. This module recomputes them and compares three witnesses that only
an attacker holding all three at once could make agree:

- **the store** (``chain_store``): every stored event in notification order,
  its aggregate hash ``a_n`` and log chain ``L_n`` recomputed from its content;
  an aggregate whose versions do not follow on is a break by itself;
- **the records** on ``csc.<svc>.v1`` (``PublishedRecord``): each carries
  ``cscseq``/``cscprev``/``cscagg``/``cscchain``/``csclink``. On their own
  they must form one unbroken record chain (each ``csclink`` recomputed from
  the record's key, value and headers and its predecessor's link; ``cscprev``
  naming the record before it), and per partition their ``cscseq`` increase;
- **the checkpoints** on ``csc.audit.v1`` and the relay's own last position
  on ``csc.relay.offsets``: the log chain's head at a position, the number of
  records published by then and the last one's link.

With the store (``verify_service(..., store=...)``) each verified record must
match the stored event at its ``cscseq`` (same ``a_n``; the body equal to what
``to_public`` makes of the stored event, so an edited body is named field by
field), the store's ``L`` must equal every checkpoint's and every verified
record's ``cscchain``, and a stored public event up to the published position
with no record is reported. Without it (an auditor's Kafka-only run) the
record chain and the checkpoints are still checked. Records are trusted as
anchors only once their own link verified, so a forged record is reported as
forged and not as an edited store.

What a chain cannot tell: an event appended to the store after the last
published position looks like one not yet published; and an edit of an
internal (unpublished) event is located to the stretch between the last
matching anchor and the next one, not to the event, when that stretch holds
several internal events (checkpoints more often make it shorter).
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from eventsourcing.persistence import Notification

from csc_contracts import PublicEvent
from csc_messaging.chain import (
    AGG,
    CHAIN,
    GENESIS,
    LINK,
    PREV,
    SEQ,
    ChainHead,
    Checkpoint,
    aggregate_step,
    canonical_id,
    content_digest,
    link_hash,
    log_hash,
    record_digest,
)
from csc_messaging.codec import ce_attributes
from csc_messaging.relay import HELD

Where = Literal["store", "kafka", "checkpoint"]
Kind = Literal["edited", "deleted", "inserted", "reordered", "unreadable", "missing"]
PublicOf = Callable[[Notification], PublicEvent | None]
MAX_SHOWN = 20


# The store ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredLink:
    """One stored event with its hashes and what ``to_public`` made of it."""

    position: int
    originator_id: str
    version: int
    topic: str
    agg: str
    head: str
    digest: bytes = b""
    public_type: str | None = None
    public_id: str | None = None
    body: Mapping[str, Any] | None = None
    unreadable: str | None = None

    @property
    def event_type(self) -> str:
        # eventsourcing's topic: "module:Class.Nested"
        return self.topic.rsplit(":", 1)[-1]

    def describe(self) -> str:
        kind = self.public_type or f"{self.event_type} (internal)"
        return f"{kind} of aggregate {self.originator_id} v{self.version}"


@dataclass
class StoreChain:
    """The chains recomputed from a store, with what the store alone shows."""

    events: list[StoredLink] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    broken_aggregates: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._index()

    def _index(self) -> None:
        self.by_position = {e.position: e for e in self.events}
        self.by_agg = {e.agg: e for e in self.events}
        self.by_version = {(e.originator_id, e.version): e for e in self.events}
        self.positions = [e.position for e in self.events]

    @property
    def head(self) -> str:
        return self.events[-1].head if self.events else GENESIS

    def head_at(self, position: int) -> str:
        """The log chain after every stored event up to ``position``."""
        i = bisect.bisect_right(self.positions, position)
        return self.events[i - 1].head if i else GENESIS

    def between(self, after: int, up_to: int) -> list[StoredLink]:
        lo = bisect.bisect_right(self.positions, after)
        hi = bisect.bisect_right(self.positions, up_to)
        return self.events[lo:hi]


def chain_store(
    notifications: Iterable[Notification],
    public_of: PublicOf,
    progress: Callable[[int], None] | None = None,
) -> StoreChain:
    """Recompute both chains over a store's log (read in notification-id order).

    Each aggregate's chain is folded in version order, as the relay folds it, so an
    event moved in the log keeps its hash and is recognised; the log chain then
    follows the log as it now stands.
    """
    chain = StoreChain()
    read: list[tuple[int, str, int, str, bytes, str | None, str | None, Any, str | None]] = []
    last_position = 0
    for n in notifications:
        if n.id <= last_position:
            chain.findings.append(
                Finding(
                    "store",
                    "reordered",
                    n.id,
                    f"notification {n.id} comes after notification {last_position}",
                )
            )
        last_position = n.id
        originator = canonical_id(n.originator_id)
        digest = content_digest(originator, n.originator_version, n.topic, n.state)
        public_type = public_id = unreadable = None
        body: dict[str, Any] | None = None
        try:
            public = public_of(n)
        except Exception as exc:
            unreadable = f"{type(exc).__name__}: {exc}"
        else:
            if public is not None:
                public_type = public.event_type()
                public_id = str(public.event_id)
                body = public.model_dump(mode="json")
        read.append(
            (
                n.id,
                originator,
                n.originator_version,
                n.topic,
                digest,
                *(public_type, public_id, body, unreadable),
            )
        )
        if progress is not None:
            progress(n.id)

    aggs: dict[int, str] = {}
    last: dict[str, str] = {}
    for i in sorted(range(len(read)), key=lambda i: (read[i][1], read[i][2], read[i][0])):
        position, originator, _, _, digest, *_ = read[i]
        aggs[position] = last[originator] = aggregate_step(last.get(originator, GENESIS), digest)
    head = GENESIS
    for (
        position,
        originator,
        version,
        topic,
        digest,
        public_type,
        public_id,
        body,
        unreadable,
    ) in read:
        head = log_hash(head, position, aggs[position])
        chain.events.append(
            StoredLink(
                position,
                originator,
                version,
                topic,
                aggs[position],
                head,
                digest,
                public_type,
                public_id,
                body,
                unreadable,
            )
        )
    for originator, finding in _version_breaks(chain.events):
        chain.findings.append(finding)
        chain.broken_aggregates.add(originator)
    chain._index()
    return chain


def _version_breaks(events: Sequence[StoredLink]) -> list[tuple[str, Finding]]:
    """Each aggregate's versions must follow on, 1, 2, 3 ..., in the log's order."""
    where = {(e.originator_id, e.version): e.position for e in events}
    last: dict[str, int] = {}
    findings = []
    for e in events:
        before = last.get(e.originator_id, 0)
        last[e.originator_id] = max(before, e.version)
        if e.version == before + 1:
            continue
        at = f"aggregate {e.originator_id}: version {e.version} at notification {e.position}"
        if e.version <= before:
            kind: Kind = "reordered"
            message = f"{at} comes after version {before}: reordered or duplicated"
        else:
            later = [
                (v, where[(e.originator_id, v)])
                for v in range(before + 1, e.version)
                if (e.originator_id, v) in where
            ]
            if later:
                kind = "reordered"
                message = (
                    f"{at} comes before version {later[0][0]} (notification {later[0][1]}): "
                    "reordered"
                )
            else:
                kind = "deleted"
                missing = _versions(before + 1, e.version - 1)
                message = (
                    f"{at} is the first of its aggregate in the store: {missing} deleted"
                    if before == 0
                    else f"{at} follows version {before}: {missing} deleted"
                )
        findings.append((e.originator_id, Finding("store", kind, e.position, message)))
    return findings


def _versions(first: int, last: int) -> str:
    return f"version {first} is" if first == last else f"versions {first}-{last} are"


# The records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedRecord:
    """One Kafka record of a service's topic, as verification reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, record: Any) -> PublishedRecord:
        """From an aiokafka ``ConsumerRecord`` (or anything with its attributes)."""
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=tuple((name, value or b"") for name, value in record.headers),
        )

    @property
    def attributes(self) -> dict[str, str]:
        return ce_attributes(self.headers)

    def chain_values(self) -> tuple[int, int, str, str, str] | None:
        """(seq, prev, agg, chain, link), or None when they are missing or malformed."""
        a = self.attributes
        try:
            values = (int(a[SEQ]), int(a[PREV]), a[AGG], a[CHAIN], a[LINK])
            for digest in values[2:]:
                bytes.fromhex(digest)
                if len(digest) != 64:
                    return None
        except (KeyError, ValueError):
            return None
        return values

    @property
    def ce_type(self) -> str:
        return self.attributes.get("type", "?")

    @property
    def ce_id(self) -> str:
        return self.attributes.get("id", "?")

    def body(self) -> Mapping[str, Any] | None:
        try:
            data = json.loads(self.value or b"")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def describe(self) -> str:
        subject = self.attributes.get("subject", "?")
        return (
            f"{self.ce_type} of case {subject} (event {self.ce_id}; "
            f"{self.topic} partition {self.partition} offset {self.offset})"
        )


@dataclass(frozen=True)
class Chained:
    record: PublishedRecord
    seq: int
    prev: int
    agg: str
    chain: str
    link: str

    @property
    def released(self) -> bool:
        """Held back by the relay and published later, out of cscseq order on purpose."""
        return HELD in self.record.attributes

    def expected_link(self, previous_link: str) -> str:
        r = self.record
        digest = record_digest(r.key, r.value, r.headers)
        return link_hash(previous_link, self.seq, self.prev, self.agg, self.chain, digest)


# Findings and reports ----------------------------------------------------------------------


@dataclass
class Finding:
    """One broken link: where it shows, what kind, at which notification, in words."""

    where: Where
    kind: Kind
    position: int | None
    message: str
    changes: list[str] = field(default_factory=list)
    # Events named precisely sort before a stretch of the chain at the same position.
    rank: int = 0

    def sort_key(self) -> tuple[float, int]:
        return (self.position if self.position is not None else float("inf"), self.rank)

    def lines(self) -> list[str]:
        at = f"notification {self.position}" if self.position is not None else "the topic"
        head = f"{at} [{self.kind}, {self.where}]: {self.message}"
        return [head, *(f"    {change}" for change in self.changes)]


@dataclass
class ServiceReport:
    service: str
    mode: Literal["store+kafka", "kafka"]
    events: int = 0
    head: str = GENESIS
    records: int = 0
    checkpoints: int = 0
    unpublished: int = 0
    held: int = 0
    findings: list[Finding] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=Finding.sort_key) if self.findings else None

    def lines(self) -> list[str]:
        if self.ok:
            what = "events" if self.mode == "store+kafka" else "records (Kafka only)"
            count = self.events if self.mode == "store+kafka" else self.records
            tail = f" ({self.unpublished} not yet published)" if self.unpublished else ""
            tail += f" ({self.held} held back by the relay)" if self.held else ""
            tail += f" ({self.note})" if self.note else ""
            return [f"{self.service}: OK {count} {what}, head {self.head}{tail}"]
        ordered = sorted(self.findings, key=Finding.sort_key)
        first, *more = ordered
        out = [f"{self.service}: BROKEN at {first.lines()[0]}", *first.lines()[1:]]
        if more:
            out.append(f"  and {len(more)} more finding(s):")
            for finding in more[:MAX_SHOWN]:
                out.extend(f"  - {line}" for line in finding.lines())
            if len(more) > MAX_SHOWN:
                out.append(f"  ... {len(more) - MAX_SHOWN} more")
        return out


def body_changes(
    published: Mapping[str, Any] | None, stored: Mapping[str, Any] | None
) -> list[str]:
    """Field by field, where the published body differs from what the store makes of it.

    Fields the store's event has and the record lacks are ignored when empty: a later
    version of the contract may add optional fields (they are added only as optional).
    """
    left, right = _flatten(published or {}), _flatten(stored or {})
    changes = []
    for name in sorted(left.keys() | right.keys()):
        if name not in left and right[name] in (None, [], {}):
            continue
        if left.get(name, _ABSENT) != right.get(name, _ABSENT):
            changes.append(
                f"{name}: {_show(left.get(name, _ABSENT))} in Kafka, "
                f"{_show(right.get(name, _ABSENT))} in the store"
            )
    return changes


_ABSENT = object()


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


# Verification ------------------------------------------------------------------------------


@dataclass
class _Anchor:
    position: int
    head: str
    source: str
    checkpoint: bool = True


def verify_service(
    service: str,
    *,
    records: Sequence[PublishedRecord],
    checkpoints: Sequence[Checkpoint] = (),
    relay: ChainHead | None = None,
    store: StoreChain | None = None,
    held: Collection[int] = (),
) -> ServiceReport:
    """Every check this module describes; ``store=None`` for a Kafka-only run."""
    report = ServiceReport(service, "kafka" if store is None else "store+kafka")
    findings = report.findings
    chain, flagged = _record_chain(records, findings)
    report.records = len(chain)
    verified = [c for c in chain if c.seq not in flagged]
    marks = [c for c in checkpoints if c.service == service]
    report.checkpoints = len(marks)
    anchors = [
        *(_Anchor(c.position, c.head, f"the checkpoint of {_when(c)}") for c in marks),
        *([_Anchor(relay.position, relay.head, "the relay's offset")] if relay else []),
    ]
    _check_checkpoints(chain, marks, relay, findings)
    if store is None:
        report.head = chain[-1].chain if chain else GENESIS
        return report

    findings.extend(store.findings)
    report.events = len(store.events)
    report.head = store.head
    by_seq = {c.seq: c for c in chain}
    kafka_findings = {f.position: f for f in findings if f.where == "kafka"}
    anchors.extend(_Anchor(c.seq, c.chain, f"record {c.seq}", False) for c in verified)
    _compare_records(store, verified, by_seq, findings)
    _explain_kafka_findings(store, by_seq, kafka_findings)
    horizon = max(
        [0, *(a.position for a in anchors), *(c.seq for c in chain), *(c.prev for c in chain)]
    )
    broken_at = _check_anchors(store, anchors, verified, findings)
    published_aggs = {c.agg for c in chain}
    for event in store.events:
        if event.position in held:
            report.held += 1  # the relay says why it holds it back: `csc-<svc> held`
            continue
        if event.position > horizon:
            report.unpublished += 1
            continue
        if event.unreadable is not None:
            findings.append(
                Finding(
                    "store",
                    "unreadable",
                    event.position,
                    f"{event.describe()} cannot be read any more ({event.unreadable}): "
                    "its stored state was changed",
                )
            )
            continue
        if (
            event.public_type is None
            or event.position in by_seq
            or event.agg in published_aggs
            or event.position in kafka_findings
        ):
            continue
        vouched = broken_at is None or event.position < broken_at
        findings.append(
            Finding(
                "kafka" if vouched else "store",
                "missing",
                event.position,
                f"{event.describe()} is in the store but not on the topic: "
                + (
                    "the store's chain matches the checkpoints past it, so the record "
                    "was deleted from the topic"
                    if vouched
                    else "deleted from the topic, or inserted into the store"
                ),
            )
        )
    return report


def _when(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.at:%Y-%m-%d %H:%M:%S}Z (position {checkpoint.position})"


def _record_chain(
    records: Sequence[PublishedRecord], findings: list[Finding]
) -> tuple[list[Chained], set[int]]:
    """The records' own chain, in cscseq order; the seqs of records that failed it."""
    chained: list[Chained] = []
    last_in_partition: dict[int, Chained] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        values = record.chain_values()
        if values is None:
            findings.append(
                Finding(
                    "kafka",
                    "inserted",
                    None,
                    f"{record.describe()} carries no (or malformed) chain attributes: "
                    "not published by the relay",
                )
            )
            continue
        c = Chained(record, *values)
        before = last_in_partition.get(record.partition)
        if c.released:
            pass  # published after its hold ended, so after records of higher cscseq
        elif before is not None and c.seq < before.seq:
            findings.append(
                Finding(
                    "kafka",
                    "reordered",
                    c.seq,
                    f"{record.describe()} (cscseq {c.seq}) comes after cscseq {before.seq} "
                    f"(offset {before.record.offset}) in its partition: records reordered",
                )
            )
        else:
            last_in_partition[record.partition] = c
        chained.append(c)

    groups: dict[int, list[Chained]] = defaultdict(list)
    for c in chained:
        groups[c.seq].append(c)
    links: dict[int, str] = {0: GENESIS}
    flagged: set[int] = set()
    kept: list[Chained] = []

    def verifies(c: Chained) -> bool:
        return c.prev in links and c.expected_link(links[c.prev]) == c.link

    placed: dict[int, int] = {0: -1}  # cscseq -> its index in kept (publication order)
    for seq in _publication_order(groups):
        group = groups[seq]
        genuine = [c for c in group if verifies(c)]
        chosen = genuine[0] if genuine else group[0]
        if genuine:
            # The relay published this one right after cscprev: whatever sits between is not
            # the relay's.
            after = placed.get(chosen.prev, len(kept) - 1)
            for k in kept[after + 1 :]:
                if k.seq not in flagged:
                    findings.append(
                        Finding(
                            "kafka",
                            "inserted",
                            k.seq,
                            f"{k.record.describe()} is not in the relay's sequence: "
                            f"{chosen.record.describe()} follows cscseq {chosen.prev} directly",
                        )
                    )
                    flagged.add(k.seq)
        elif chosen.prev not in links:
            findings.append(
                Finding(
                    "kafka",
                    "deleted",
                    chosen.prev,
                    f"the record published from notification {chosen.prev} is missing: "
                    f"{chosen.record.describe()} names it as the record before it",
                )
            )
        else:
            findings.append(
                Finding(
                    "kafka",
                    "edited",
                    seq,
                    f"{chosen.record.describe()} does not hash to its csclink: its key, body "
                    "or headers were changed after it was published",
                )
            )
            flagged.add(seq)
        for c in group:
            if c is not chosen:
                findings.append(
                    Finding(
                        "kafka",
                        "inserted",
                        seq,
                        f"{c.record.describe()} repeats cscseq {seq} of "
                        f"{chosen.record.describe()} but is not in the relay's chain: forged",
                        rank=1,
                    )
                )
        links[seq] = chosen.link
        placed[seq] = len(kept)
        kept.append(chosen)
    return kept, flagged


def _publication_order(groups: Mapping[int, Sequence[Chained]]) -> list[int]:
    """The cscseqs in the order the relay published them: by cscseq, except that a record
    released from a hold comes right after the record it names as published before it
    (which may itself be one released)."""
    released = {seq: g[0].prev for seq, g in groups.items() if g[0].released}
    after: dict[int, list[int]] = defaultdict(list)
    for seq, prev in sorted(released.items()):
        after[prev].append(seq)
    order: list[int] = []

    def place(seq: int) -> None:
        order.append(seq)
        for follower in after.pop(seq, ()):
            place(follower)

    for seq in sorted(s for s in groups if s not in released):
        place(seq)
    order.extend(seq for followers in after.values() for seq in followers)  # prev unknown
    return order


def _check_checkpoints(
    chain: Sequence[Chained],
    checkpoints: Sequence[Checkpoint],
    relay: ChainHead | None,
    findings: list[Finding],
) -> None:
    """Each checkpoint's last record must be on the topic, with as many before it."""
    index = {c.link: i for i, c in enumerate(chain)}
    marks: list[tuple[str, int, int, str]] = [
        (f"the checkpoint of {_when(c)}", c.position, c.records, c.link) for c in checkpoints
    ]
    if relay is not None:
        marks.append(("the relay's offset", relay.position, relay.records, relay.link))
    for source, position, count, link in marks:
        if count == 0:
            continue
        i = index.get(link)
        if i is None:
            before = [c for c in chain if c.seq <= position]
            last = before[-1] if before else None
            findings.append(
                Finding(
                    "checkpoint",
                    "deleted",
                    position,
                    f"{source} names its last record (csclink {link[:16]}…, record {count}) "
                    "but the topic has no such record: "
                    + (
                        f"the last record up to it is {last.record.describe()}; records were "
                        "deleted or changed"
                        if last
                        else "every record up to it is gone"
                    ),
                    rank=2,
                )
            )
        elif i + 1 != count:
            findings.append(
                Finding(
                    "checkpoint",
                    "deleted" if i + 1 < count else "inserted",
                    chain[i].seq,
                    f"{source} counts {count} records up to {chain[i].record.describe()}, "
                    f"the topic has {i + 1}",
                    rank=2,
                )
            )


def _compare_records(
    store: StoreChain,
    verified: Sequence[Chained],
    by_seq: Mapping[int, Chained],
    findings: list[Finding],
) -> None:
    """Each record that verified on its own against the stored event at its cscseq."""
    broken = store.broken_aggregates
    for c in verified:
        stored = store.by_position.get(c.seq)
        moved = store.by_agg.get(c.agg)
        if stored is not None and stored.agg == c.agg:
            changes = _record_changes(c.record, stored)
            if changes:
                findings.append(
                    Finding(
                        "kafka",
                        "edited",
                        c.seq,
                        f"{c.record.describe()} differs from {stored.describe()}, the stored "
                        "event it was published from (which the chain vouches for)",
                        changes,
                    )
                )
            continue
        if stored is None and moved is None:
            findings.append(
                Finding(
                    "store",
                    "deleted",
                    c.seq,
                    f"{c.record.describe()} was published from notification {c.seq}, "
                    "which is no longer in the store: deleted",
                )
            )
        elif moved is not None and stored is not None:
            counterpart = by_seq.get(moved.position)
            swapped = counterpart is not None and counterpart.agg == stored.agg
            how = (
                f"swapped with notification {moved.position}: reordered"
                if swapped
                else (
                    "an event was inserted into the store before it, or events reordered"
                    if moved.position > c.seq
                    else "an event was deleted from the store before it, or events reordered"
                )
            )
            findings.append(
                Finding(
                    "store",
                    "reordered" if swapped else "inserted" if moved.position > c.seq else "deleted",
                    c.seq,
                    f"notification {c.seq} in the store is {stored.describe()}, but "
                    f"{c.record.describe()} was published from it, and the store now holds "
                    f"that event at notification {moved.position}: {how}",
                )
            )
        elif moved is not None:
            findings.append(
                Finding(
                    "store",
                    "reordered",
                    c.seq,
                    f"{c.record.describe()} was published from notification {c.seq}; the "
                    f"store holds that event at notification {moved.position}: renumbered",
                )
            )
        else:
            assert stored is not None
            if _intact_itself(store, stored, c, by_seq, broken):
                continue  # its aggregate's chain broke at an earlier version, reported there
            same = stored.public_id is not None and stored.public_id == c.record.ce_id
            if same or stored.unreadable is not None:
                changes = _record_changes(c.record, stored) if same else []
                findings.append(
                    Finding(
                        "store",
                        "edited",
                        c.seq,
                        f"{stored.describe()} was changed in the store after it was published "
                        f"as {c.record.describe()}"
                        + (
                            f": it can no longer be read ({stored.unreadable})"
                            if stored.unreadable
                            else ""
                            if changes
                            else ": in fields that are not published (its stored state differs)"
                        ),
                        changes,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "store",
                        "edited",
                        c.seq,
                        f"notification {c.seq} in the store is {stored.describe()}, but "
                        f"{c.record.describe()} was published from it: replaced in the store",
                    )
                )


def _intact_itself(
    store: StoreChain,
    stored: StoredLink,
    record: Chained,
    by_seq: Mapping[int, Chained],
    broken: set[str],
) -> bool:
    """Whether the stored event hashes to the record's a_n from the record of its predecessor.

    Then the event itself is as published and only an earlier version of its aggregate
    changed. Without a published predecessor, an aggregate whose versions are already
    known to be broken explains the difference.
    """
    if stored.version == 1:
        previous: str | None = GENESIS
    else:
        before = store.by_version.get((stored.originator_id, stored.version - 1))
        published = by_seq.get(before.position) if before is not None else None
        previous = published.agg if published is not None else None
    if previous is None:
        return stored.originator_id in broken
    return aggregate_step(previous, stored.digest) == record.agg


def _record_changes(record: PublishedRecord, stored: StoredLink) -> list[str]:
    changes = body_changes(record.body(), stored.body)
    if stored.public_type is not None and record.ce_type != stored.public_type:
        changes.insert(0, f"type: {record.ce_type} in Kafka, {stored.public_type} in the store")
    return changes


def _explain_kafka_findings(
    store: StoreChain, by_seq: Mapping[int, Chained], kafka_findings: Mapping[int | None, Finding]
) -> None:
    """What the store says about records that failed their own chain."""
    for position, finding in kafka_findings.items():
        if position is None:
            continue
        stored = store.by_position.get(position)
        if stored is None:
            continue
        record = by_seq.get(position)
        if finding.kind == "edited" and record is not None and stored.agg == record.agg:
            finding.changes.extend(_record_changes(record.record, stored))
        elif finding.kind == "deleted":
            finding.message += f" (in the store: {stored.describe()})"


def _check_anchors(
    store: StoreChain,
    anchors: Sequence[_Anchor],
    verified: Sequence[Chained],
    findings: list[Finding],
) -> int | None:
    """Where the store's log chain first leaves what Kafka recorded; None when it never does."""
    good = {c.agg for c in verified}
    matched = 0
    for anchor in sorted(anchors, key=lambda a: a.position):
        if store.head_at(anchor.position) == anchor.head:
            matched = max(matched, anchor.position)
            continue
        stretch = store.between(matched, anchor.position)
        suspects = [e for e in stretch if e.agg not in good] or stretch
        absent = sorted(
            set(range(matched + 1, anchor.position + 1)) - {e.position for e in stretch}
        )
        named = "; ".join(f"{e.position}: {e.describe()}" for e in suspects[:10])
        message = (
            f"the store's log chain up to notification {anchor.position} differs from "
            f"{anchor.source} (it matched up to notification {matched}): "
        )
        if absent and len(absent) <= 20:
            listed = ", ".join(map(str, absent))
            message += (
                f"notification {listed} is not in the store; "
                if len(absent) == 1
                else f"notifications {listed} are not in the store; "
            )
        message += (
            f"changed, inserted or reordered among: {named}" if suspects else "events deleted"
        )
        position = suspects[0].position if suspects else (absent[0] if absent else matched + 1)
        findings.append(Finding("store", "edited", position, message, rank=1))
        marks = sorted((a for a in anchors if a.checkpoint), key=lambda a: a.position)
        disagree = [a for a in marks if store.head_at(a.position) != a.head]
        if disagree and disagree != [anchor]:
            findings.append(
                Finding(
                    "checkpoint",
                    "edited",
                    disagree[0].position,
                    f"the store's log chain differs from {len(disagree)} of {len(marks)} "
                    f"checkpoints, the first: {disagree[0].source}",
                    rank=2,
                )
            )
        return position
    return None
