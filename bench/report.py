"""The printed report: the tables, PASS/MISS for each target, and the profile's hotspots,
all from the JSON-ready dict that bench/main.py builds."""

from __future__ import annotations

from typing import Any

from bench.measure import BARE, DIRECT, FEATURES, GATEWAY, RESPONSES, TOOLS
from bench.peers import PORTKEY
from bench.scaling import print_scaling
from bench.stats import Target, ratio

TARGET_RPS_SHARE = 0.15  # gateway rps ≥ 15% of bare ASGI at the highest concurrency
TARGET_CPU_US = 300.0  # gateway CPU per request at the highest concurrency
TARGET_ADDED_P50_MS = 1.0  # at concurrency 1
TARGET_RSS_MIB = 120.0  # gateway RSS after all the load
TARGET_TPS_SHARE = 0.99  # streaming tokens/s through the gateway vs direct
TARGET_TTFT_ADDED_MS = 2.0

MIB = 1024 * 1024


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _heading(title: str, header: str | None = None) -> None:
    print()
    print(f"== {title} ==")
    if header is not None:
        print(header)
        print("-" * len(header))


def targets(report: dict[str, Any]) -> list[Target]:
    load = report["load"]
    concurrencies = report["settings"]["concurrency"]
    high, low = str(max(concurrencies)), str(min(concurrencies))
    gateway_high, gateway_low = load[GATEWAY][high], load[GATEWAY][low]
    share = ratio(gateway_high["rps"], load[BARE][high]["rps"])
    cpu_share = ratio(load[BARE][high]["cpu_us_per_request"], gateway_high["cpu_us_per_request"])
    added = gateway_low["p50_ms"] - load[DIRECT][low]["p50_ms"]
    rss = report["rss_after_load"][GATEWAY] / MIB
    result = [
        Target(
            f"c={low}: added p50 latency (gateway - direct) ≤ {TARGET_ADDED_P50_MS:g} ms",
            f"{added:.3f} ms",
            f"≤ {TARGET_ADDED_P50_MS:g} ms",
            added <= TARGET_ADDED_P50_MS,
        )
    ]
    if PORTKEY in load:
        portkey = load[PORTKEY][low]
        cpu = f"{gateway_low['cpu_us_per_request']:.0f} vs {portkey['cpu_us_per_request']:.0f}"
        result.append(
            Target(
                f"c={low}: gateway req/s ≥ Portkey's",
                f"{gateway_low['rps']:.0f} vs {portkey['rps']:.0f} req/s "
                f"({_pct(ratio(gateway_low['rps'], portkey['rps']))}; CPU per request "
                f"{cpu} us)",
                "≥ 100%",
                gateway_low["rps"] >= portkey["rps"],
            )
        )
    result += [
        Target(
            f"c={high}: gateway req/s ≥ {_pct(TARGET_RPS_SHARE)} of bare ASGI",
            f"{_pct(share)} (CPU-normalized: {_pct(cpu_share)})",
            f"≥ {_pct(TARGET_RPS_SHARE)}",
            share >= TARGET_RPS_SHARE,
        ),
        Target(
            f"c={high}: gateway CPU ≤ {TARGET_CPU_US:g} us per request",
            f"{gateway_high['cpu_us_per_request']:.0f} us",
            f"≤ {TARGET_CPU_US:g} us",
            gateway_high["cpu_us_per_request"] <= TARGET_CPU_US,
        ),
        Target(
            f"gateway RSS after load ≤ {TARGET_RSS_MIB:g} MiB",
            f"{rss:.1f} MiB",
            f"≤ {TARGET_RSS_MIB:g} MiB",
            rss <= TARGET_RSS_MIB,
        ),
    ]
    if "stream" in report:
        stream = report["stream"]
        tps = stream["paired"]["decode_tps_ratio"]
        ttft = stream["paired"]["ttft_added_ms"]
        result += [
            Target(
                f"streaming tokens/s through the gateway ≥ {_pct(TARGET_TPS_SHARE)} of direct",
                f"{_pct(tps)} (median of paired runs; ratio of medians "
                f"{_pct(ratio(stream[GATEWAY]['decode_tps'], stream[DIRECT]['decode_tps']))})",
                f"≥ {_pct(TARGET_TPS_SHARE)}",
                tps >= TARGET_TPS_SHARE,
            ),
            Target(
                f"streaming TTFT added by the gateway ≤ {TARGET_TTFT_ADDED_MS:g} ms",
                f"{ttft:+.1f} ms (median of paired runs)",
                f"≤ {TARGET_TTFT_ADDED_MS:g} ms",
                ttft <= TARGET_TTFT_ADDED_MS,
            ),
        ]
    return result


def print_report(report: dict[str, Any]) -> None:
    print_load(report)
    print_features(report)
    if "scaling" in report:
        print_scaling(report["scaling"])
    if "stream" in report:
        print_stream(report["stream"], report["settings"])
    print_memory(report)
    if report["settings"]["smoke"]:
        print()
        print("smoke run: every target ran and answered correctly; no target is judged")
    else:
        _heading("Targets")
        for target in targets(report):
            print(f"{target.verdict}  {target.name}: measured {target.measured}")
    if "profile" in report and "self_lines" in report["profile"]:
        print_profile(report["profile"])
    machine = report["machine"]
    print()
    print(
        f"machine: {machine['cpus']} CPUs, load average before {machine['load_before'][0]:.2f}, "
        f"after {machine['load_after'][0]:.2f}; gateway code {report['source']}; "
        f"bench took {report['elapsed_seconds']:.0f}s"
    )


def print_load(report: dict[str, Any]) -> None:
    settings = report["settings"]
    load: dict[str, dict[str, dict[str, Any]]] = report["load"]
    _heading(
        f"Non-streaming chat completions: wrk, {settings['rounds']} rounds x "
        f"{settings['duration_s']:g} s per config, medians over rounds",
        f"{'conc':>4}  {'target':<9} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'cpu us/req':>10} {'errors':>6}  {'÷ bare':>7} {'÷ direct':>8}",
    )
    for c in map(str, settings["concurrency"]):
        for name in load:
            s = load[name][c]
            low, high = s["rps_spread"]
            vs_bare = _pct(ratio(s["rps"], load[BARE][c]["rps"])) if name != BARE else ""
            vs_direct = (
                _pct(ratio(s["rps"], load[DIRECT][c]["rps"])) if name not in (BARE, DIRECT) else ""
            )
            print(
                f"{c:>4}  {name:<9} {s['rps']:8.0f} {f'({low:.0f}-{high:.0f})':>15} "
                f"{_ms(s['p50_ms']):>8} {_ms(s['p99_ms']):>8} "
                f"{s['cpu_us_per_request']:>10.0f} {s['errors']:>6}  {vs_bare:>7} "
                f"{vs_direct:>8}"
            )
        gateway, direct = load[GATEWAY][c], load[DIRECT][c]
        print(
            f"{'':>4}  added latency (gateway - direct): p50 "
            f"+{gateway['p50_ms'] - direct['p50_ms']:.3f} ms, p99 "
            f"+{gateway['p99_ms'] - direct['p99_ms']:.3f} ms"
        )
    for name, reason in report.get("peers_skipped", {}).items():
        print(f"{name}: skipped ({reason})")
    metering = report["metering"]
    print(
        f"metering: {metering['usage_rows']} usage rows committed for "
        f"{metering['gateway_requests_measured']} measured gateway requests "
        "(+ warm-up and requests cut off when wrk stops)"
    )


FEATURE_LABELS = {
    RESPONSES: "the same conversation through /v1/responses",
    TOOLS: "the chat request with a tool declared (answered in text)",
}


def print_features(report: dict[str, Any]) -> None:
    """The drop-in features next to the plain chat request, on the same gateway process."""
    load: dict[str, dict[str, dict[str, Any]]] = report["load"]
    _heading(
        "Drop-in features on the gateway, against its plain chat request (same process, "
        "same upstream, same rounds)",
        f"{'conc':>4}  {'target':<9} {'÷ gateway req/s':>15} {'p50 ms +':>9} {'cpu us/req +':>12}",
    )
    for c in map(str, report["settings"]["concurrency"]):
        chat = load[GATEWAY][c]
        for name in FEATURES:
            s = load[name][c]
            print(
                f"{c:>4}  {name:<9} {_pct(ratio(s['rps'], chat['rps'])):>15} "
                f"{s['p50_ms'] - chat['p50_ms']:>+9.3f} "
                f"{s['cpu_us_per_request'] - chat['cpu_us_per_request']:>+12.0f}"
            )
    for name, label in FEATURE_LABELS.items():
        print(f"{name}: {label}")


def print_stream(stream: dict[str, Any], settings: dict[str, Any]) -> None:
    _heading(
        f"Streaming from llama.cpp (SmolLM2-135M, {settings['llama_threads'] or 'all'} "
        f"thread(s)): {settings['stream_runs']} runs per target, {settings['max_tokens']} "
        "tokens, medians",
        f"{'target':<9} {'TTFT ms':>9} {'decode tok/s':>13} {'end-to-end tok/s':>17} {'tokens':>7}",
    )
    for name in (DIRECT, GATEWAY):
        s = stream[name]
        print(
            f"{name:<9} {s['ttft_ms']:9.1f} {s['decode_tps']:13.1f} "
            f"{s['end_to_end_tps']:17.1f} {s['tokens']:7.0f}"
        )
    gateway = stream[GATEWAY]
    per_token = gateway["server_cpu_us_per_token"]
    if per_token is not None:
        print(
            f"gateway CPU per streamed token: {per_token:.0f} us, i.e. "
            f"{_pct(per_token * gateway['decode_tps'] / 1e6)} of one core at "
            f"{gateway['decode_tps']:.0f} tok/s (relay, metering, HTTP on both sides)"
        )
    paired = stream["paired"]
    print(
        f"gateway ÷ direct (median over paired runs): TTFT {paired['ttft_ratio']:.2f}x "
        f"({paired['ttft_added_ms']:+.1f} ms), decode tok/s "
        f"{_pct(paired['decode_tps_ratio'])}, end-to-end tok/s "
        f"{_pct(paired['end_to_end_tps_ratio'])}"
    )


def print_memory(report: dict[str, Any]) -> None:
    _heading("Resident memory (RSS)")
    idle, after, peak = report["rss_idle"], report["rss_after_load"], report["rss_peak"]
    for name in idle:
        print(
            f"{name:<9} idle {idle[name] / MIB:6.1f} MiB   after load "
            f"{after[name] / MIB:6.1f} MiB   peak {peak[name] / MIB:6.1f} MiB   "
            f"({ratio(after[name], after[BARE]):.2f}x bare ASGI after load)"
        )
    print(f"gateway growth under load: {(after[GATEWAY] - idle[GATEWAY]) / MIB:+.1f} MiB")
    print(f"gateway event loop: {report['event_loop']}")


def print_profile(profile: dict[str, Any]) -> None:
    samples = max(1, profile["samples"])
    _heading(
        f"Gateway hotspots (py-spy, {profile['samples']} samples at "
        f"{profile['rps_while_profiled']:.0f} req/s)"
    )
    for title, rows in (
        ("self time by package:", profile["by_package"]),
        (
            "by the innermost gptapi line on the stack (where the time is spent from):",
            profile["gptapi_sites"],
        ),
        ("self time by line:", profile["self_lines"]),
        ("inclusive time (gptapi frames):", profile["gptapi_inclusive"]),
    ):
        print(title)
        for name, count in rows:
            print(f"  {count / samples:6.1%}  {name}")
