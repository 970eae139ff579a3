"""The candidate's page: the self-assessment form (drafts saved, submitted as final) and its result with a PDF.

Thin over :mod:`evalkit.certification.self_assessment`. Who the candidate is comes from one of two places, never
from a list the user picks:

* the link's token, read from the page's query string (``?token=...``): Voila puts the request's query string in
  the kernel's environment as ``QUERY_STRING`` (voila 0.5). The token page is served by the office's server
  without Jupyter's own token (the candidate's token is the access), and checks the token in Python before
  anything is read or written;
* the person signed in through the hub, linked to a candidate (``person_links``).

Every element a test needs carries a stable ``ek-sa-*`` CSS class.
"""
from __future__ import annotations

import base64
import html
import os
from urllib.parse import parse_qs

import ipywidgets as w

from .. import certification as cert
from ..certification.self_assessment import NO_LINK
from ..access import signed_in_user
from ..store import Store
from .common import SAVE_ERRORS, STYLE, WorkspaceError, message, open_workspace

__all__ = ["SelfAssessmentPage", "self_assessment_app", "token_from_query"]

ERRORS = (cert.SelfAssessmentRefused, *SAVE_ERRORS)

SA_STYLE = """
<style>
.ek-sa-scale { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px; }
.ek-sa-scale td, .ek-sa-scale th { border-bottom: 1px solid #e4e7eb; padding: 3px 8px; text-align: left;
  vertical-align: top; }
.ek-sa-domain-title { font-size: 16px; font-weight: 600; margin: 14px 0 4px; border-top: 2px solid #cbd2d9;
  padding-top: 6px; }
.ek-sa-statement { font-size: 14px; margin: 6px 0 2px; }
.ek-sa-pdf { color: #0b63c5; text-decoration: underline; font-weight: 600; display: inline-block; margin: 6px 0; }
.ek-sa-result iframe { width: 100%; height: 720px; border: 1px solid #cbd2d9; }
</style>
"""


def token_from_query(query: str | None = None) -> str | None:
    """The ``token`` of the page's query string (default ``$QUERY_STRING``, which Voila sets), or None.

    Examples
    --------
    >>> token_from_query("token=abc&x=1")
    'abc'
    >>> token_from_query("") is None
    True
    """
    query = os.environ.get("QUERY_STRING", "") if query is None else query
    values = parse_qs(query).get("token")
    return values[-1] if values else None


class SelfAssessmentPage:
    """The self-assessment of one candidate and program, found from a link token or a signed-in person.

    Parameters
    ----------
    store : Store
    token : str, optional
        The link's token (the token page).
    candidate, program_id : optional
        The candidate (external id) and program, when the candidate is signed in through the hub.
    """

    def __init__(self, store: Store, token: str | None = None, candidate: str | None = None,
                 program_id: str | None = None):
        self.store = store
        self.token_id = None
        self.record = None
        self.message = w.HTML()
        self.message.add_class("ek-sa-message")
        self.body = w.VBox()
        self.widget = w.VBox([w.HTML(STYLE + SA_STYLE), w.HTML('<div class="ek-title">Self-assessment</div>'),
                              self.body, self.message])
        self.widget.add_class("ek-app")
        self.widget.add_class("ek-sa-page")
        self.ratings: dict[str, w.ToggleButtons] = {}
        try:
            if token is not None:
                opened = cert.open_link(store, token)
                self.token_id = opened["token_id"]
                candidate, program_id = opened["external_id"], opened["program_id"]
            if candidate is None or program_id is None:
                raise cert.SelfAssessmentRefused("open this page through the link you were sent, or sign in")
            self.actor = f"candidate {candidate}"
            self.record = cert.start_self_assessment(store, candidate, program_id, actor=self.actor)
        except ERRORS as exc:
            self.message.value = message(str(exc), "error")
            return
        if self.record["state"] == "final":
            self._show_result()
        else:
            self._show_form()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _show_form(self) -> None:
        instrument = self.record["instrument"]
        scale = "".join(f"<tr><th>{lv.level} · {html.escape(lv.label)}</th><td>{html.escape(lv.descriptor)}</td></tr>"
                        for lv in instrument.scale)
        parts: list[w.Widget] = [w.HTML(
            f"<div>{html.escape(instrument.title)}. Rate yourself on each statement; save a draft at any time and "
            f"come back later; submit when every statement is rated.</div>"
            f'<table class="ek-sa-scale">{scale}</table>')]
        options = [(f"{lv.level} {lv.label}", lv.level) for lv in instrument.scale]
        for domain in instrument.domains:
            parts.append(w.HTML(f'<div class="ek-sa-domain-title">{html.escape(domain.name)}</div>'))
            for s in domain.statements:
                buttons = w.ToggleButtons(options=options, value=self.record["answers"].get(s.id),
                                          style={"button_width": "120px"})
                buttons.add_class(f"ek-sa-rate-{s.id}")
                buttons.observe(lambda _: self._changed(), names="value")
                self.ratings[s.id] = buttons
                parts.append(w.VBox([w.HTML(f'<div class="ek-sa-statement">{html.escape(s.text)}</div>'),
                                     buttons]))
        self.progress = w.HTML()
        self.progress.add_class("ek-sa-progress")
        save = w.Button(description="Save draft", layout=w.Layout(width="auto"))
        save.add_class("ek-sa-save")
        save.on_click(lambda _: self.save())
        submit = w.Button(description="Submit", button_style="primary", layout=w.Layout(width="auto"))
        submit.add_class("ek-sa-submit")
        submit.on_click(lambda _: self.submit())
        parts.append(w.HBox([save, submit, self.progress]))
        self.body.children = parts
        self._count()

    def _answers(self) -> dict:
        """The ratings given (a toggle once set cannot be cleared on the page)."""
        return {sid: b.value for sid, b in self.ratings.items() if b.value is not None}

    def _changed(self) -> None:
        self.message.value = ""  # an earlier refusal no longer describes the form
        self._count()

    def _count(self) -> None:
        done = len(self._answers())
        self.progress.value = f"<span>&nbsp;{done} of {len(self.ratings)} rated</span>"

    def save(self) -> bool:
        try:
            self.record = cert.save_draft(self.store, self.record["id"], self._answers(), actor=self.actor)
        except ERRORS as exc:
            self.message.value = message(f"Not saved: {exc}", "error")
            return False
        self.message.value = message("Draft saved. You can close this page and come back with the same link.", "ok")
        return True

    def submit(self) -> bool:
        try:
            self.record = cert.submit_self_assessment(self.store, self.record["id"], self._answers(),
                                                      actor=self.actor, token_id=self.token_id)
        except ERRORS as exc:
            self.message.value = message(f"Not submitted: {exc}", "error")
            return False
        self.message.value = message("Submitted. Your result is below; the link is now used.", "ok")
        self._show_result()
        return True

    def _show_result(self) -> None:
        result = cert.self_assessment_result(self.store, self.record["id"])
        page = cert.result_html(result)
        try:
            pdf = cert.result_pdf(result)
            data = base64.b64encode(pdf).decode("ascii")
            name = f"self-assessment-{result.candidate}-{result.program_id}.pdf"
            link = (f'<a class="ek-sa-pdf" download="{html.escape(name)}" '
                    f'href="data:application/pdf;base64,{data}">Download the result as PDF</a>')
        except Exception as exc:  # noqa: BLE001 - the page is still useful without its PDF
            link = message(f"The PDF could not be made here ({type(exc).__name__}); print this page instead.",
                           "warn")
        summary = (f"<div class='ek-sa-summary'><b>Strengths:</b> {html.escape(', '.join(result.strengths) or 'none')}"
                   f"<br><b>Development areas:</b> {html.escape(', '.join(result.development_areas) or 'none')}"
                   f"</div>{link}")
        view = w.HTML(f'{summary}<iframe srcdoc="{html.escape(page, quote=True)}"></iframe>')
        view.add_class("ek-sa-result")
        self.body.children = [view]


def self_assessment_app(workspace=None, query: str | None = None, program_id: str | None = None):
    """The candidate's page for the notebook: the link's token from the query string, else the candidate the
    hub's signed-in person is linked to (``program_id``: their program, default the first they started or are
    admitted to)."""
    try:
        store = open_workspace(workspace)
    except WorkspaceError as exc:
        return w.HTML(STYLE + message(str(exc), "error"))
    token = token_from_query(query)
    if token is not None:
        return SelfAssessmentPage(store, token=token)
    person = signed_in_user(store)
    candidate_id = cert.my_candidate(store, person)
    if candidate_id is None:
        return w.HTML(STYLE + message(NO_LINK, "info"))
    import sqlalchemy as sa

    from ..store import candidacies, candidates
    with store.read() as conn:
        external = conn.execute(sa.select(candidates.c.external_id).where(candidates.c.id == candidate_id)).scalar()
        programs = conn.execute(sa.select(candidacies.c.program_id)
                                .where(candidacies.c.candidate_id == candidate_id)).scalars().all()
    return SelfAssessmentPage(store, candidate=external, program_id=program_id or (programs[0] if programs else None))
