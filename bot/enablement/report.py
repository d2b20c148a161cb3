"""The quarterly impact report: Markdown with PNG charts (matplotlib) and the raw figures."""

from __future__ import annotations

from pathlib import Path

from bot.enablement.metrics import ImpactMetrics


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path.name


def _charts(metrics: ImpactMetrics, out: Path) -> dict[str, str]:
    plt = _plt()
    charts: dict[str, str] = {}
    weeks = [w.week for w in metrics.weeks] or ["—"]
    answered = [w.answered for w in metrics.weeks] or [0]
    abstained = [w.abstained for w in metrics.weeks] or [0]

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(weeks, answered, label="answered", color="#2a9d8f")
    ax.bar(weeks, abstained, bottom=answered, label="not in the knowledge base", color="#e76f51")
    ax.set_title("Questions per week")
    ax.set_ylabel("questions")
    ax.legend()
    ax.tick_params(axis="x", rotation=45)
    charts["questions"] = _save(fig, out / "questions_per_week.png")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(
        ["answered", "abstained"],
        [metrics.answered, metrics.abstained],
        color=["#2a9d8f", "#e76f51"],
    )
    ax.set_title("Answered vs abstained")
    charts["answered"] = _save(fig, out / "answered_vs_abstained.png")

    fig, ax = plt.subplots(figsize=(8, 3.5))
    rates = [
        w.positive / (w.positive + w.negative) * 100 if w.positive + w.negative else None
        for w in metrics.weeks
    ]
    points = [(w, r) for w, r in zip(weeks, rates, strict=False) if r is not None]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color="#264653")
    ax.set_ylim(0, 100)
    ax.set_title("Helpful rate (share of feedback that was positive)")
    ax.set_ylabel("%")
    ax.tick_params(axis="x", rotation=45)
    charts["helpful"] = _save(fig, out / "helpful_rate.png")

    fig, ax = plt.subplots(figsize=(8, 3.5))
    xs = range(len(weeks))
    ax.bar(
        [x - 0.2 for x in xs],
        [w.consultations_opened for w in metrics.weeks] or [0],
        width=0.4,
        label="opened",
        color="#f4a261",
    )
    ax.bar(
        [x + 0.2 for x in xs],
        [w.consultations_resolved for w in metrics.weeks] or [0],
        width=0.4,
        label="resolved",
        color="#2a9d8f",
    )
    ax.set_xticks(list(xs), weeks, rotation=45)
    ax.set_title("Consultation requests")
    ax.legend()
    charts["consultations"] = _save(fig, out / "consultations.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    channels = list(metrics.usage_by_channel.items())[:10] or [("—", 0)]
    ax.barh([c for c, _ in channels][::-1], [n for _, n in channels][::-1], color="#264653")
    ax.set_title("Questions by channel")
    charts["channels"] = _save(fig, out / "usage_by_channel.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    runs = metrics.checklists[:10] or []
    labels = [f"{r.title[:30]} ({r.channel_id})" for r in runs] or ["—"]
    shares = [r.done / r.total * 100 if r.total else 0 for r in runs] or [0]
    ax.barh(labels[::-1], shares[::-1], color="#2a9d8f")
    ax.set_xlim(0, 100)
    ax.set_title("Checklist completion (%)")
    charts["checklists"] = _save(fig, out / "checklist_completion.png")
    return charts


def _value(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def render_markdown(metrics: ImpactMetrics, charts: dict[str, str]) -> str:
    m = metrics
    helpful = None if m.helpful_rate is None else round(m.helpful_rate * 100, 1)
    lines = [
        f"# AI CoE impact report: {m.period_from.isoformat()} to {m.period_to.isoformat()}",
        "",
        "## Headline figures",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| questions asked | {m.questions} |",
        f"| answered from the knowledge base | {m.answered} |",
        f"| not in the knowledge base (abstained) | {m.abstained} |",
        f"| failed (errors) | {m.failed} |",
        f"| feedback: helpful / not helpful | {m.feedback_positive} / {m.feedback_negative} |",
        f"| helpful rate | {_value(helpful, ' %')} |",
        f"| answer latency p95 | {_value(m.answer_latency_p95_ms, ' ms')} |",
        f"| consultation requests opened | {m.consultations_opened} |",
        f"| consultation requests resolved | {m.consultations_resolved} |",
        f"| median time to first response | {_value(m.median_first_response_hours, ' h')} |",
        f"| median time to resolution | {_value(m.median_resolution_hours, ' h')} |",
        "",
        f"![Questions per week]({charts['questions']})",
        f"![Answered vs abstained]({charts['answered']})",
        f"![Helpful rate]({charts['helpful']})",
        f"![Consultations]({charts['consultations']})",
        "",
        *_model_lines(m),
        "## Usage by channel",
        "",
        "| channel | questions |",
        "| --- | --- |",
        *(f"| {c} | {n} |" for c, n in m.usage_by_channel.items()),
        "",
        f"![Usage by channel]({charts['channels']})",
        "",
        "## Checklists",
        "",
        "| checklist | channel | done | items |",
        "| --- | --- | --- | --- |",
        *(f"| {r.title} | {r.channel_id} | {r.done} | {r.total} |" for r in m.checklists),
        "",
        f"![Checklist completion]({charts['checklists']})",
        "",
        "## Knowledge gaps",
        "",
        "Questions the knowledge base could not answer, or whose answers were marked unhelpful,",
        "grouped by meaning — the largest group is the document to write next.",
        "",
        "| # | asked | example question |",
        "| --- | --- | --- |",
        *(
            f"| {i} | {g.count} | {g.example.replace('|', '/')} |"
            for i, g in enumerate(m.knowledge_gaps, 1)
        ),
        "",
    ]
    return "\n".join(lines)


def _model_lines(m: ImpactMetrics) -> list[str]:
    u = m.model
    if u is None:
        return []
    rate = None if u.fallback_rate is None else round(u.fallback_rate * 100, 1)
    lines = [
        "## Written answers (answer model)",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| questions sent to the model | {u.questions} |",
        f"| answered in the model's words | {u.written} |",
        f"| quotes shown instead (fallback) | {u.fallbacks} ({_value(rate, ' %')}) |",
        f"| sentences shown / dropped by verification | {u.sentences_kept} / {u.sentences_dropped} |",
        f"| tokens in / out | {u.tokens_in} / {u.tokens_out} |",
        f"| time to first sentence, median | {_value(u.first_sentence_p50_ms, ' ms')} |",
        f"| time to whole answer, p95 | {_value(u.total_p95_ms, ' ms')} |",
        "",
    ]
    if u.fallback_reasons:
        lines += ["| why quotes were shown | times |", "| --- | --- |"]
        lines += [f"| {r.replace('|', '/')} | {n} |" for r, n in u.fallback_reasons.items()]
        lines.append("")
    return lines


def write_report(metrics: ImpactMetrics, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(metrics, out)
    (out / "report.json").write_text(metrics.model_dump_json(indent=2), encoding="utf-8")
    path = out / "report.md"
    path.write_text(render_markdown(metrics, charts), encoding="utf-8")
    return path
