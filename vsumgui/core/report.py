"""The overview of a batch run: `OUT/index.html` (one file: images inline as data: URIs, no
server, no JavaScript) and `OUT/index.csv` (one row per video), both from the job list."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
from pathlib import Path
from urllib.parse import quote

from vsumgui.core.atomic import write_text

CSV_FIELDS = ("video", "path", "state", "reason", "duration_s", "summary_s", "segments", "shots", "method",
              "json", "exports", "seconds")

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;
vertical-align:top}th{background:#f4f4f4}.num{text-align:right;white-space:nowrap}.bad{color:#a00}
img{display:block;max-width:100%;margin:.2em 0}small{color:#666}
"""


def _clock(t: float | None) -> str:
    if t is None:
        return ""
    t = int(round(t))
    return f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"


def _img(data: bytes | None, kind: str, alt: str) -> str:
    if not data:
        return ""
    return f'<img alt="{html.escape(alt)}" src="data:image/{kind};base64,{base64.b64encode(data).decode()}">'


def _link(rel: str, text: str) -> str:
    return f'<a href="{quote(rel)}">{html.escape(text)}</a>'


def _files(row: dict) -> list[str]:
    try:
        return list(json.loads(row.get("files") or "[]"))
    except ValueError:
        return []


def _rel(row: dict, name: str) -> str:
    d = row["out_dir"]
    return name if d in ("", ".") else f"{d}/{name}"


def html_page(rows: list[dict]) -> str:
    """The index page: done videos with their pictures and links, then the failed ones, then the rest."""
    done = [r for r in rows if r["state"] == "done"]
    failed = [r for r in rows if r["state"] == "failed"]
    other = [r for r in rows if r["state"] not in ("done", "failed")]
    total = sum(r["duration"] or 0 for r in done)
    short = sum(r["summary"] or 0 for r in done)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', "<title>vsumgui: video summaries</title>",
           f"<style>{STYLE}</style></head><body>", "<h1>Video summaries</h1>",
           f"<p>{len(done)} summarized ({_clock(total)} of video, {_clock(short)} of summary), "
           f"{len(failed)} failed, {len(other)} not done.</p>"]
    if done:
        out += ["<table><tr><th>Video</th><th>Length</th><th>Summary</th><th>Chosen shots and importance</th>"
                "<th>Files</th></tr>"]
        for r in done:
            name = Path(r["path"]).name
            files = _files(r)
            links = "<br>".join(_link(_rel(r, f), f) for f in files)
            out.append(
                f"<tr><td>{html.escape(name)}<br><small>{html.escape(r['path'])}</small></td>"
                f'<td class="num">{_clock(r["duration"])}</td>'
                f'<td class="num">{_clock(r["summary"])}<br><small>{r["segments"]} of {r["shots"]} shots, '
                f'{html.escape(r["method"] or "")}</small></td>'
                f"<td>{_img(r['thumbs'], 'jpeg', 'chosen shots of ' + name)}"
                f"{_img(r['curve'], 'png', 'importance of ' + name)}</td><td>{links}</td></tr>")
        out.append("</table>")
    if failed:
        out += ["<h2>Failed</h2>", "<table><tr><th>Video</th><th>Reason</th></tr>"]
        out += [f'<tr><td>{html.escape(r["path"])}</td><td class="bad">{html.escape(r["reason"] or "")}</td></tr>'
                for r in failed]
        out.append("</table>")
    if other:
        out += ["<h2>Not done yet</h2>", "<ul>"] + [f"<li>{html.escape(r['path'])}</li>" for r in other] + ["</ul>"]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in rows:
        files = _files(r)
        w.writerow([Path(r["path"]).name, r["path"], r["state"], r["reason"] or "",
                    "" if r["duration"] is None else f"{r['duration']:.3f}",
                    "" if r["summary"] is None else f"{r['summary']:.3f}",
                    "" if r["segments"] is None else r["segments"], "" if r["shots"] is None else r["shots"],
                    r["method"] or "", _rel(r, files[0]) if files else "",
                    " ".join(_rel(r, f) for f in files[1:]),
                    "" if r["seconds"] is None else f"{r['seconds']:.2f}"])
    return buf.getvalue()


def write(out: str | os.PathLike, rows: list[dict]) -> None:
    """Write OUT/index.html and OUT/index.csv (each atomically)."""
    write_text(Path(out) / "index.csv", csv_text(rows))
    write_text(Path(out) / "index.html", html_page(rows))
