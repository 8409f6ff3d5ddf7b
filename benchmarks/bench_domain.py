"""Benchmark of the pure domain core: send decisions, view memory, classification, ladder.

Run: ``python benchmarks/bench_domain.py [--quick]``. Prints a table and writes
``benchmarks/results/domain.json``. One core, no I/O in the timed parts; each figure is
the median of five runs. Sections whose module is missing are reported as skipped.

Targets: >= 200,000 decisions/s and >= 50,000 classifications/s.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from suppressor_client.decision import decide
from suppressor_client.types import (
    CATEGORY_OF,
    SUPPRESSION_LISTS,
    BounceDetails,
    DeliveryEvent,
    DeliveryType,
    ListKey,
    ListName,
    ListRecord,
    Reason,
    Stream,
)
from suppressor_client.view import ListView

from workers.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "domain.json"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
ACCOUNTS = [f"account-{i:03d}" for i in range(50)]
DOMAINS = ["gmail.com", "wp.pl", "onet.pl", "yahoo.com", "outlook.com", "o2.pl", "icloud.com"]
REASON_MIX = (
    [Reason.NONEXISTENT] * 5
    + [Reason.UNSUBSCRIBE] * 3
    + [
        Reason.TEMPORARY,
        Reason.FEEDBACK_LOOP,
        Reason.MANUAL,
        Reason.LIST_UNSUBSCRIBE,
    ]
)
RUNS = 5


def address(i: int) -> str:
    return f"user.{i}+n@{DOMAINS[i % len(DOMAINS)]}"


def records(count: int, seed: int = 7) -> Iterator[ListRecord]:
    """Suppression records as a decoder would produce them: fresh objects each."""
    rng = random.Random(seed)
    for i in range(count):
        reason = rng.choice(REASON_MIX)
        name = SUPPRESSION_LISTS[CATEGORY_OF[reason]]
        account = ACCOUNTS[i % len(ACCOUNTS)]
        since = T0 + timedelta(seconds=i)
        yield ListRecord(
            ListKey("".join(account), name, address(i)),  # a fresh account string, as decoded
            version=rng.randint(1, 5),
            active=True,
            reason=reason,
            since=since,
            expires_at=since + timedelta(days=7) if reason is Reason.TEMPORARY else None,
            event_id=f"evt-{i:012d}-{rng.getrandbits(64):016x}",
            delivery_id=f"dlv-{i:012d}",
        )


def domain_records() -> list[ListRecord]:
    """A default pool per account, a few platform rules, allow lists on some accounts."""
    out = []
    for account in ACCOUNTS:
        for pattern, both in (
            ("allegro.pl", False),
            ("allegromail.pl", False),
            ("allegro.com", True),
        ):
            out.append(
                ListRecord(
                    ListKey(account, ListName.DOMAIN_RULE, pattern),
                    1,
                    True,
                    reason=Reason.MANUAL,
                    since=T0,
                    send_block=True,
                    collection_block=both,
                )
            )
    for pattern in ("mailinator.com", "*.spam.example", "10minutemail.com"):
        out.append(
            ListRecord(
                ListKey("*", ListName.DOMAIN_RULE, pattern),
                1,
                True,
                reason=Reason.SHARED,
                since=T0,
                send_block=True,
            )
        )
    out.append(ListRecord(ListKey(ACCOUNTS[0], ListName.DOMAIN_ALLOW, "gmail.com"), 1, True))
    return out


def build_view(count: int, keep_details: bool) -> tuple[ListView, float]:
    """The view and its retained bytes per suppression entry (measured by tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    view = ListView(keep_details=keep_details)
    for item in records(count):
        view.apply(item.key, item)
    for item in domain_records():
        view.apply(item.key, item)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return view, (after - before) / count


def bench_apply(count: int) -> float:
    """Records applied per second into a fresh view (records built beforehand, no tracing)."""
    items = list(records(count, seed=3))

    def run() -> int:
        view = ListView()
        for item in items:
            view.apply(item.key, item)
        return len(items)

    return median_rate(run)


BEST: dict[
    str, float
] = {}  # best run per measure: the figure with the least noise from a busy host


def median_rate(run: Callable[[], int], name: str = "") -> float:
    """Items per second, median of RUNS timed runs (the best one kept in BEST[name])."""
    rates = []
    for _ in range(RUNS):
        started = time.perf_counter()
        done = run()
        rates.append(done / (time.perf_counter() - started))
    if name:
        BEST[name] = max(rates)
    return statistics.median(rates)


def bench_decisions(view: ListView, entries: int, count: int) -> dict[str, Any]:
    rng = random.Random(11)
    queries: list[tuple[str, str, Stream]] = []
    for _ in range(count):
        roll = rng.random()
        i = rng.randrange(entries)
        if roll < 0.4:  # a suppressed address of its own account
            account, addr = ACCOUNTS[i % len(ACCOUNTS)], address(i)
        elif roll < 0.8:  # a clean address
            account, addr = rng.choice(ACCOUNTS), f"fresh.{i}@{rng.choice(DOMAINS)}"
        elif roll < 0.9:  # a blocked domain, some via wildcard
            account, addr = (
                rng.choice(ACCOUNTS),
                f"x{i}@{rng.choice(['allegro.pl', 'a.spam.example'])}",
            )
        else:  # needs normalisation
            account, addr = rng.choice(ACCOUNTS), f" User.{i}@GMAIL.com"
        stream = Stream.TRANSACTIONAL if rng.random() < 0.2 else Stream.MARKETING
        queries.append((account, addr, stream))
    now = T0 + timedelta(days=3)

    def run() -> int:
        for account, addr, stream in queries:
            decide(view, account, addr, stream, now)
        return len(queries)

    rules: dict[str, int] = {}
    for account, addr, stream in queries:
        rule = decide(view, account, addr, stream, now).rule
        rules[rule] = rules.get(rule, 0) + 1
    rate = median_rate(run, "decisions_per_s")
    return {
        "decisions_per_s": rate,
        "decisions_per_s_best": BEST["decisions_per_s"],
        "queries": count,
        "rule_mix": rules,
    }


BOUNCES = [
    BounceDetails(
        smtp_status="5.1.1", smtp_code=550, diagnostic="smtp; 550 5.1.1 <x@gmail.com>: user unknown"
    ),
    BounceDetails(smtp_status="4.2.2", smtp_code=452, diagnostic="452 4.2.2 Mailbox full"),
    BounceDetails(diagnostic="550 Requested action not taken: mailbox unavailable"),
    BounceDetails(smtp_code=554, diagnostic="554 5.7.1 Message rejected due to spam content"),
    BounceDetails(provider="ses", provider_type="Permanent", provider_subtype="NoEmail"),
    BounceDetails(provider="ses", provider_type="Transient", provider_subtype="MailboxFull"),
    BounceDetails(
        provider="sendgrid",
        provider_type="bounce",
        diagnostic="550 5.1.1 The email account does not exist",
    ),
    BounceDetails(
        provider="mailgun", provider_type="failed", provider_subtype="permanent", smtp_code=550
    ),
    BounceDetails(provider="postmark", provider_type="HardBounce"),
    BounceDetails(provider="sparkpost", provider_type="bounce", provider_subtype="10"),
    BounceDetails(
        smtp_status="5.7.26",
        diagnostic="550 5.7.26 Unauthenticated email from example.com is not accepted due to DMARC",
    ),
    BounceDetails(diagnostic="421 4.7.0 Try again later, closing connection. (rate limited)"),
    BounceDetails(
        smtp_status="5.2.1", diagnostic="The email account that you tried to reach is disabled"
    ),
    BounceDetails(diagnostic="Auto-Reply: I am out of the office until Monday"),
    BounceDetails(),
    # text-only bounces (no code at all): qmail, a provider's wrapper, other languages
    BounceDetails(diagnostic="<x@example.com>: Sorry, no mailbox here by that name. (#5.1.1)"),
    BounceDetails(
        diagnostic="We're sorry. There's a problem with the e-mail address(es) you're trying "
        "to send to. Please verify the address(es) and try again. <x@example.com>: The e-mail "
        "message could not be delivered because the user's mailfolder is full."
    ),
    BounceDetails(diagnostic="User x (x@example.com) not listed in Domino Directory"),
    BounceDetails(diagnostic="550 5.1.1 <x@example.de>: Benutzer nicht bekannt/User unknown"),
    BounceDetails(diagnostic="<x@example.jp> のユーザーは登録されていません"),
]


def bench_classify(count: int) -> dict[str, Any]:
    classify = importlib.import_module("workers.domain.classify").classify
    items = [BOUNCES[i % len(BOUNCES)] for i in range(count)]

    def run() -> int:
        for item in items:
            classify(item)
        return len(items)

    rate = median_rate(run, "classify")
    return {
        "classifications_per_s": rate,
        "classifications_per_s_best": BEST["classify"],
        "inputs": count,
        "distinct_inputs": len(BOUNCES),
    }


def bench_ladder(addresses: int) -> dict[str, Any]:
    ladder = importlib.import_module("workers.domain.ladder")
    outcome_type = importlib.import_module("suppressor_client.types").Outcome
    config = Settings().ladder()
    script = [
        (DeliveryType.BOUNCE, outcome_type.CONDITION, 0),
        (DeliveryType.BOUNCE, outcome_type.CONDITION, 9),
        (DeliveryType.DELIVERED, None, 30),
        (DeliveryType.BOUNCE, outcome_type.CONDITION, 31),
        (DeliveryType.BOUNCE, outcome_type.POLICY, 32),
        (DeliveryType.BOUNCE, outcome_type.NONEXISTENT, 40),
    ]
    events = []
    for n in range(addresses):
        email = f"user.{n}@gmail.com"
        for k, (kind, outcome, day) in enumerate(script):
            event = DeliveryEvent(
                event_id=f"e{n}-{k}",
                account_id="acme",
                occurred_at=T0 + timedelta(days=day),
                type=kind,
                email=email,
                delivery_id=f"d{n}-{k}",
            )
            events.append((email, event, outcome))
    steps_per_address = len(script)

    def run() -> int:
        state = None
        for index, (email, event, outcome) in enumerate(events):
            if index % steps_per_address == 0:
                state = ladder.AddressState.empty(email)
            state, _ = ladder.step(state, event, config, outcome)
        return len(events)

    rate = median_rate(run, "ladder")
    return {
        "ladder_steps_per_s": rate,
        "ladder_steps_per_s_best": BEST["ladder"],
        "steps": len(events),
    }


def optional(name: str, module: str, bench: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a section whose module another part of the project provides, or say it is missing."""
    try:
        importlib.import_module(module)
    except ImportError:
        return {"skipped": f"module missing: {module}"}
    return bench()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    entries = 50_000 if args.quick else 1_000_000
    queries = 20_000 if args.quick else 200_000

    load_rate = bench_apply(min(entries, 200_000))
    view, bytes_full = build_view(entries, keep_details=True)
    decisions = bench_decisions(view, entries, queries)
    stats = view.stats()
    del view
    gc.collect()
    lean_view, bytes_lean = build_view(entries, keep_details=False)
    lean = bench_decisions(lean_view, entries, queries)
    del lean_view
    gc.collect()

    result: dict[str, Any] = {
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "view": {
            "suppression_entries": entries,
            "bytes_per_entry_with_details": round(bytes_full, 1),
            "bytes_per_entry_lean": round(bytes_lean, 1),
            "records_applied_per_s": round(load_rate),
            "stats": stats,
        },
        "decide": {**decisions, "lean_view_decisions_per_s": lean["decisions_per_s"]},
        "classify": optional(
            "classify", "workers.domain.classify", lambda: bench_classify(queries)
        ),
        "ladder": optional("ladder", "workers.domain.ladder", lambda: bench_ladder(queries // 20)),
        "targets": {"decisions_per_s": 200_000, "classifications_per_s": 50_000},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print_table(result)
    print(f"\nwritten: {args.output}")


def print_table(result: dict[str, Any]) -> None:
    view, decide_ = result["view"], result["decide"]
    rows: list[tuple[str, str, str]] = [
        ("view entries", f"{view['suppression_entries']:,}", ""),
        ("bytes/entry (with details)", f"{view['bytes_per_entry_with_details']:.0f}", ""),
        ("bytes/entry (lean view)", f"{view['bytes_per_entry_lean']:.0f}", ""),
        ("records applied/s", f"{view['records_applied_per_s']:,}", ""),
        (
            "decisions/s",
            f"{decide_['decisions_per_s']:,.0f}",
            _verdict(decide_["decisions_per_s"], 200_000),
        ),
        ("decisions/s (best of 5)", f"{decide_['decisions_per_s_best']:,.0f}", ""),
        ("decisions/s (lean view)", f"{decide_['lean_view_decisions_per_s']:,.0f}", ""),
    ]
    for section, key, target in (
        ("classify", "classifications_per_s", 50_000),
        ("ladder", "ladder_steps_per_s", None),
    ):
        data = result[section]
        if "skipped" in data:
            rows.append((key.replace("_per_s", "/s"), "skipped", data["skipped"]))
        else:
            verdict = _verdict(data[key], target) if target else ""
            rows.append((key.replace("_per_s", "/s"), f"{data[key]:,.0f}", verdict))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  target")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    print(f"decision rule mix: {decide_['rule_mix']}")


def _verdict(value: float, target: int) -> str:
    return f">= {target:,}: {'met' if value >= target else 'MISSED'}"


if __name__ == "__main__":
    main()
