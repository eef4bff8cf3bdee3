"""The monitor's report for people: what moved, at a glance, above Evidently's report."""

import html
from pathlib import Path
from typing import Any

from ..core.tasks import LABELS
from .checks import LOSS_COLUMNS

STYLE = (
    "font-family:system-ui,sans-serif;margin:16px 24px;padding:16px 20px;border-radius:8px;"
    "border:2px solid {color};background:{background}"
)


def text(summary: dict[str, Any]) -> str:
    """The verdict in a few lines, for the terminal and CI logs."""
    window, model, moved = summary["window"], summary["model"], summary["moved"]
    head = (
        f"{model['name']} version {model['version']}: {window['predictions']} predictions "
        f"({window['with_outcomes']} with outcomes), {summary['tests']['total']} checks"
    )
    if window.get("live_roc_auc") is not None:  # a binary classifier's: a figure, not a check
        head += f"; live ROC AUC {window['live_roc_auc']} (holdout {model['holdout_roc_auc']})"
    if window.get("live_accuracy") is not None:  # a multiclass one's: a figure, not a check
        head += f"; live accuracy {window['live_accuracy']} (holdout {model['holdout_accuracy']})"
    if not summary["alarm"]:
        return f"{head}: nothing moved."
    lines = [f"{head}: {summary['tests']['failed']} failed.", _moved(moved)]
    lines += [f"  - {_where(f)}: {f['description']}" for f in summary["failed"]]
    lines += [f"  note: {note}" for note in summary.get("notes", [])]
    return "\n".join(lines)


def write(snapshot, summary: dict[str, Any], path: Path) -> None:
    """Evidently's report, with the summary at the top of its page."""
    report = snapshot.get_html_str(as_iframe=False)
    head, body, rest = report.partition("<body>")
    path.write_text(head + body + _summary_html(summary) + rest if body else report)


def _summary_html(summary: dict[str, Any]) -> str:
    alarm = summary["alarm"]
    color, fill = ("#c62828", "#fdecea") if alarm else ("#2e7d32", "#edf7ed")
    window, model = summary["window"], summary["model"]
    title = "Something moved" if alarm else "Nothing moved"
    parts = [
        f'<section id="monitor-summary" style="{STYLE.format(color=color, background=fill)}">',
        f'<h1 style="margin:0 0 8px;color:{color}">{title}</h1>',
        f"<p style='margin:4px 0'>{html.escape(model['name'])} version "
        f"{html.escape(str(model['version']))}, {window['predictions']} predictions from "
        f"{window['since'][:16]} to {window['until'][:16]} UTC ({window['with_outcomes']} with "
        f"outcomes) against its {model['training_rows']} training rows: "
        f"{summary['tests']['failed']} of {summary['tests']['total']} checks failed.</p>",
    ]
    if alarm:
        moved = html.escape(_moved(summary["moved"]))
        parts.append(f"<p style='font-size:1.3em;margin:8px 0'><b>{moved}</b></p>")
        rows = "".join(
            f"<tr><td>{html.escape(f['segment'] or 'all')}</td><td>{html.escape(f['check'])}</td>"
            f"<td>{html.escape(_what(f))}</td>"
            f"<td>{html.escape(f['description'])}</td></tr>"
            for f in sorted(summary["failed"], key=lambda f: (f["segment"] or "", f["check"]))
        )
        parts.append(
            "<table style='border-collapse:collapse' cellpadding='4'><tr style='text-align:left'>"
            f"<th>where</th><th>check</th><th>what</th><th>finding</th></tr>{rows}</table>"
        )
    parts += [f"<p style='margin:4px 0;color:#555'>{html.escape(n)}</p>" for n in summary["notes"]]
    parts.append("</section>")
    return "".join(parts)


def _moved(moved: dict[str, Any]) -> str:
    what = [*moved["features"], *(["the prediction"] if moved["prediction"] else [])]
    errors = ", ".join(moved["error"])
    return (
        f"Moved: {', '.join(what) or 'no feature'}"
        + (f"; in {', '.join(moved['segments'])}" if moved["segments"] else "")
        + (f"; live error above the holdout's: {errors}" if errors else "")
    )


def _what(failed: dict[str, Any]) -> str:
    losses = {column: LABELS[metric] for metric, column in LOSS_COLUMNS.items()}
    return f"live {losses[failed['column']]}" if failed["check"] == "error" else failed["column"]


def _where(failed: dict[str, Any]) -> str:
    return f"{failed['segment']}: {_what(failed)}" if failed["segment"] else _what(failed)
