"""The app's look (CSS) and its one behaviour the server cannot do: a ``[n]`` mark scrolls to its card.

Kept apart from ui.py so the handlers stay readable; no external fonts, scripts or images
are referenced, so the page loads nothing from the internet.
"""

from __future__ import annotations

CSS = """
.gradio-container { max-width: 1480px !important; margin: 0 auto; }
.topbar { align-items: center; border-bottom: 1px solid var(--border-color-primary); padding-bottom: 6px; }
.brand strong { font-size: 1.25rem; display: block; letter-spacing: -0.01em; }
.brand small { color: var(--body-text-color-subdued); }
.status { display: flex; flex-wrap: wrap; gap: 8px; justify-content: flex-end; }
.status span { background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 4px 10px; font-size: 0.85rem; line-height: 1.2; max-width: 420px;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.status small { display: block; color: var(--body-text-color-subdued); font-size: 0.7rem;
  text-transform: uppercase; letter-spacing: 0.04em; }
.panel-title { margin: 4px 0 0 0; }
#sources, #brief-sources { max-height: 72vh; overflow-y: auto; padding-right: 4px; }
.sources .empty, .empty { color: var(--body-text-color-subdued); font-style: italic; }
.card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px; margin: 0 0 10px 0;
  background: var(--background-fill-primary); transition: box-shadow .3s, border-color .3s; }
.card.flash { border-color: #2563eb; box-shadow: 0 0 0 3px rgba(37, 99, 235, .25); }
.card-head { display: flex; gap: 8px; align-items: baseline; }
.card-head .num { color: #2563eb; font-weight: 700; white-space: nowrap; }
.card .meta { color: var(--body-text-color-subdued); font-size: 0.8rem; margin: 2px 0 6px 0; }
.card .chunk { font-size: 0.9rem; line-height: 1.5; }
.card mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 3px; }
.claims { list-style: none; padding: 0; margin: 8px 0 0 0; font-size: 0.85rem; }
.claims li { margin: 4px 0; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 8px; font-size: 0.72rem; font-weight: 600;
  margin-right: 4px; }
.badge.ok { background: #dcfce7; color: #166534; }
.badge.warn { background: #fef3c7; color: #92400e; }
.badge.bad { background: #fee2e2; color: #991b1b; }
a.cite { color: #2563eb; font-weight: 600; text-decoration: none; cursor: pointer; }
a.cite:hover { text-decoration: underline; }
.stage { color: var(--body-text-color-subdued); display: flex; align-items: center; gap: 8px; }
.spinner { width: 12px; height: 12px; border: 2px solid #93c5fd; border-top-color: #2563eb; border-radius: 50%;
  display: inline-block; animation: spin 0.8s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
.draft { opacity: 0.6; font-style: italic; margin-top: 6px; }
.abstain strong { display: block; }
.abstain small, .removed-note { color: var(--body-text-color-subdued); display: block; margin-top: 4px; }
.examples button { font-size: 0.8rem !important; }
.brief h3.headline { margin-top: 0; }
.brief ul { margin: 4px 0 12px 18px; }
.quality { margin: 6px 0; }
.quality ul { font-size: 0.85rem; }
#library table, #library td, #library th { font-family: var(--font) !important; font-size: 0.9rem; }
footer { display: none !important; }
"""

HEAD = """
<script>
document.addEventListener("click", function (event) {
  const mark = event.target.closest && event.target.closest("a.cite");
  if (!mark) { return; }
  event.preventDefault();
  event.stopPropagation();
  const target = document.getElementById(mark.getAttribute("href").slice(1));
  if (!target) { return; }
  const card = target.closest(".card") || target;
  card.scrollIntoView({behavior: "smooth", block: "nearest"});
  card.classList.add("flash");
  setTimeout(function () { card.classList.remove("flash"); }, 1600);
}, true);
</script>
"""
