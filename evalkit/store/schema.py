"""The tables of an evalkit database (SQLAlchemy Core).

This is the schema as the code reads and writes it. A database gets it through the migrations in
``evalkit/store/migrations`` (Alembic); a test checks that the migrations and these tables agree.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

programs = sa.Table(
    "programs", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),  # JSON of the program as loaded from programs.yaml
)

rubric_versions = sa.Table(
    "rubric_versions", metadata,
    sa.Column("version", sa.String(32), primary_key=True),  # content hash
    sa.Column("rubric_id", sa.String(64), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    # the YAML as registered, so that an old score can be read with its instrument
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("registered_at", sa.DateTime, nullable=False),
)

candidates = sa.Table(
    "candidates", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("external_id", sa.String(64), nullable=False, unique=True),
    sa.Column("first_name", sa.Text, nullable=False),
    sa.Column("last_name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("organisation", sa.Text),
    sa.Column("profile", sa.Text),  # JSON: education, experience, service (evalkit.instruments.eligibility)
)

candidacies = sa.Table(  # a candidate admitted to a program, and when their work product assignment was issued
    "candidacies", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("applied_on", sa.Date, nullable=False),
    sa.Column("route", sa.Text),  # the eligibility route met; None: no requirement, or admitted by override
    sa.Column("advancing_from", sa.String(32)),  # the lower designation held (CCMA -> CCOM, CCMC -> CCSL)
    sa.Column("override_by", sa.Text),  # the admin who admitted an ineligible candidate ...
    sa.Column("override_reason", sa.Text),  # ... and why
    sa.Column("assignment_issued_on", sa.Date),  # the completion clock starts here
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("candidate_id", "program_id"),
)

raters = sa.Table(
    "raters", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text),
    sa.Column("is_adjudicator", sa.Boolean, nullable=False, default=False),
    sa.Column("is_lead", sa.Boolean, nullable=False, default=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)

conflicts = sa.Table(
    "conflicts", metadata,
    sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), primary_key=True),
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), primary_key=True),
    sa.Column("reason", sa.Text),
)

submissions = sa.Table(
    "submissions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("previous_id", sa.Integer, sa.ForeignKey("submissions.id")),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),  # notification deadline
    sa.Column("complete_by", sa.Date),  # completion deadline from the assignment's issue (None: not issued here)
    sa.Column("reevaluates_id", sa.Integer),  # the submission an upheld appeal re-opens for a fresh evaluation
    sa.Column("manager_signoff", sa.Boolean, nullable=False),
    sa.Column("document", sa.Text),  # path of the work product, relative to the workspace
    sa.Column("is_benchmark", sa.Boolean, nullable=False, default=False),  # a "gold" submission for calibration
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("candidate_id", "program_id", "attempt"),
)

assignments = sa.Table(
    "assignments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
    sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # rater | adjudicator
    sa.Column("status", sa.String(16), nullable=False),  # assigned | draft | final
    sa.Column("assigned_at", sa.DateTime, nullable=False),
    sa.Column("saved_at", sa.DateTime),
    sa.Column("submitted_at", sa.DateTime),
    sa.Column("comment", sa.Text),  # overall comment of the rater
    sa.UniqueConstraint("submission_id", "rater_id"),
)

criterion_scores = sa.Table(
    "criterion_scores", metadata,
    sa.Column("assignment_id", sa.Integer, sa.ForeignKey("assignments.id"), primary_key=True),
    sa.Column("criterion_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.Integer),  # None while only feedback has been typed
    sa.Column("feedback", sa.Text, nullable=False, default=""),
    sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

decisions = sa.Table(
    "decisions", metadata,
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
    sa.Column("result", sa.String(16), nullable=False),  # pass | deficient
    sa.Column("total_percent", sa.Float, nullable=False),
    sa.Column("method", sa.String(16), nullable=False),  # agreement | adjudication | benchmark
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    sa.Column("resubmit_by", sa.Date),  # a deficient result's deadline for the corrected work product
)

resubmission_extensions = sa.Table(  # a later resubmission deadline granted by an admin
    "resubmission_extensions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
    sa.Column("until", sa.Date, nullable=False),
    sa.Column("granted_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("granted_at", sa.DateTime, nullable=False),
)

resolved_scores = sa.Table(
    "resolved_scores", metadata,
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
    sa.Column("criterion_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.Float, nullable=False),
    sa.Column("feedback", sa.Text, nullable=False, default=""),
)

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("late", sa.Boolean, nullable=False),
    sa.Column("files", sa.Text, nullable=False),  # JSON: [{"path":..., "sha256":...}]
    sa.Column("created_at", sa.DateTime, nullable=False),
)

assessment_results = sa.Table(  # the Knowledge & Skills Assessments: one row per attempt at a component
    "assessment_results", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("component", sa.String(32), nullable=False),  # knowledge_1 ... knowledge_N
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("maximum", sa.Float, nullable=False),
    sa.Column("taken_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("candidate_id", "program_id", "component", "attempt"),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.Text, nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
)

certificates = sa.Table(  # one per candidate and program; number and code survive reissue and recertification
    "certificates", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(40), nullable=False, unique=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),  # the verification code
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("certified_on", sa.Date, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # active | suspended | withdrawn (expired: by the date)
    sa.Column("decided_by", sa.Text, nullable=False),  # who confirmed the certification decision
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("candidate_id", "program_id"),
)

certificate_events = sa.Table(  # what happened to a certificate, by whom and why, and the file issued
    "certificate_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("certificate_id", sa.Integer, sa.ForeignKey("certificates.id"), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),  # issue | reissue | suspend | reinstate | withdraw | recertify
    sa.Column("on_date", sa.Date, nullable=False),       # | remind
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("valid_until", sa.Date),
    sa.Column("file", sa.Text),
    sa.Column("sha256", sa.String(64)),
    sa.Column("at", sa.DateTime, nullable=False),
)

appeals = sa.Table(  # ISO/IEC 17024 9.8: an appeal of a decided result, decided by someone not involved
    "appeals", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("grounds", sa.Text, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("acknowledged_on", sa.Date),
    sa.Column("decided_by", sa.Text),
    sa.Column("decided_on", sa.Date),
    sa.Column("outcome", sa.String(16)),  # upheld | dismissed
    sa.Column("outcome_reason", sa.Text),
    sa.Column("reevaluation_id", sa.Integer, sa.ForeignKey("submissions.id")),
    sa.Column("outcome_notified_on", sa.Date),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

outbox = sa.Table(  # every e-mail evalkit sends: queued here, sent by `evalkit outbox send`
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),  # result_letter | appeal_letter | reminder | certificate | ...
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("attachments", sa.Text, nullable=False),  # JSON: [{"path":..., "name":..., "sha256":...}]
    sa.Column("ref", sa.Text),  # what it is about, e.g. "submission:12"
    sa.Column("message_id", sa.String(255), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
)

person_roles = sa.Table(  # what a signed-in person may do; the hub's groups and PostgreSQL's policies follow it
    "person_roles", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),  # evalkit.access.ROLES
    sa.Column("granted_by", sa.Text, nullable=False),
    sa.Column("granted_at", sa.DateTime, nullable=False),
)

submission_documents = sa.Table(  # the work product's bytes, readable where row-level security allows
    "submission_documents", metadata,
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("stored_at", sa.DateTime, nullable=False),
)

# --- call certification ------------------------------------------------------------------------------------

cc_agents = sa.Table(
    "cc_agents", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("first_name", sa.Text, nullable=False),
    sa.Column("last_name", sa.Text, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),  # first day of call certs (after training)
    sa.Column("certifier", sa.Text),
    sa.Column("equipment_issue", sa.Text),
    sa.Column("tbt_hours", sa.Float),
    sa.Column("tbt_done_on", sa.Date),  # the day the TBTs (training) were completed
    sa.Column("completed_on", sa.Date),
    sa.Column("email", sa.Text),  # where the agent's call scorecards are sent
)

cc_calls = sa.Table(
    "cc_calls", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
    sa.Column("call_no", sa.Integer, nullable=False),
    sa.Column("certifier", sa.Text, nullable=False),
    sa.Column("scored_on", sa.Date, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("levels", sa.Text, nullable=False),  # JSON {criterion: level} on the call scorecard
    sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    sa.Column("went_well", sa.Text, nullable=False),
    sa.Column("marked_down", sa.Text, nullable=False),
    sa.Column("positive", sa.Text, nullable=False),
    sa.Column("duration_hours", sa.Float),
    sa.UniqueConstraint("agent_id", "call_no"),
)

cc_actions = sa.Table(
    "cc_actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),  # coaching | written_cap | final_cap | termination
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)

cc_notes = sa.Table(
    "cc_notes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)

# The audit log is append-only in the database itself: triggers refuse UPDATE and DELETE on it. They are made by
# the migrations (versions/0001_initial.py), which are how every database gets its schema.

sa.Index("ix_assignments_rater", assignments.c.rater_id, assignments.c.status)
sa.Index("ix_submissions_state", submissions.c.state)
sa.Index("ix_audit_entity", audit.c.entity, audit.c.entity_id)
sa.Index("ix_outbox_status", outbox.c.status)


# --- standard setting (migration 0008) -----------------------------------------------------------------------

standard_setting_workshops = sa.Table(  # a modified-Angoff workshop on one program's rubric version
    "standard_setting_workshops", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("rubric_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),  # modified Angoff
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("held_on", sa.Date, nullable=False),
    sa.Column("facilitator", sa.Text, nullable=False),
    sa.Column("mcc_definition", sa.Text, nullable=False),  # the minimally competent candidate the panel agreed on
    sa.Column("state", sa.String(16), nullable=False),  # open | closed
    sa.Column("recommended_cut", sa.Float),  # total %, from the last round, when closed
    sa.Column("cut_se", sa.Float),
    sa.Column("closed_by", sa.Text),
    sa.Column("closed_at", sa.DateTime),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

standard_setting_panellists = sa.Table(
    "standard_setting_panellists", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workshop_id", sa.Integer, sa.ForeignKey("standard_setting_workshops.id"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("expertise", sa.Text),  # e.g. "centre director, 12 years"
    sa.UniqueConstraint("workshop_id", "name"),
)

standard_setting_rounds = sa.Table(  # a round of ratings; the impact data shown to the panel when it closed
    "standard_setting_rounds", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workshop_id", sa.Integer, sa.ForeignKey("standard_setting_workshops.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("closed_at", sa.DateTime),
    sa.Column("cut", sa.Float),  # the round's cut (total %) and SE, when closed
    sa.Column("cut_se", sa.Float),
    sa.Column("impact", sa.Text),  # JSON: the impact data shown to the panel after the round
    sa.UniqueConstraint("workshop_id", "number"),
)

standard_setting_ratings = sa.Table(  # a panellist's expected level of the minimally competent candidate
    "standard_setting_ratings", metadata,
    sa.Column("round_id", sa.Integer, sa.ForeignKey("standard_setting_rounds.id"), primary_key=True),
    sa.Column("panellist_id", sa.Integer, sa.ForeignKey("standard_setting_panellists.id"), primary_key=True),
    sa.Column("criterion_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.Float, nullable=False),
    sa.Column("rated_at", sa.DateTime, nullable=False),
)

pass_mark_changes = sa.Table(  # a pass mark adopted from a workshop: a new rubric version, old decisions untouched
    "pass_mark_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("workshop_id", sa.Integer, sa.ForeignKey("standard_setting_workshops.id"), nullable=False),
    sa.Column("from_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    sa.Column("to_version", sa.String(32), sa.ForeignKey("rubric_versions.version"), nullable=False),
    sa.Column("old_pass_mark", sa.Float, nullable=False),
    sa.Column("new_pass_mark", sa.Float, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),  # submissions received from this day are under it
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("adopted_by", sa.Text, nullable=False),
    sa.Column("adopted_at", sa.DateTime, nullable=False),
)


# --- the people being assessed: self-assessment, access links, agents' self-reports (migration 0009) ----------

person_links = sa.Table(  # a signed-in person (hub username) who is a candidate or an agent: their own records
    "person_links", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), unique=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), unique=True),
    sa.Column("linked_by", sa.Text, nullable=False),
    sa.Column("linked_at", sa.DateTime, nullable=False),
)

self_assessments = sa.Table(  # a candidate's self-assessment for a program, on one instrument version
    "self_assessments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("instrument_id", sa.String(64), nullable=False),
    sa.Column("instrument_version", sa.String(32), nullable=False),  # content hash of the YAML
    sa.Column("instrument_source", sa.Text, nullable=False),  # the YAML as used, so an old one reads as it was
    sa.Column("state", sa.String(16), nullable=False),  # draft | final
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("saved_at", sa.DateTime),
    sa.Column("submitted_at", sa.DateTime),
    sa.UniqueConstraint("candidate_id", "program_id"),
)

self_assessment_answers = sa.Table(  # one statement's rating; final with its self-assessment
    "self_assessment_answers", metadata,
    sa.Column("self_assessment_id", sa.Integer, sa.ForeignKey("self_assessments.id"), primary_key=True),
    sa.Column("statement_id", sa.String(32), primary_key=True),
    sa.Column("level", sa.Integer),  # None: not rated yet
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

access_tokens = sa.Table(  # single-use expiring links for people without a hub account; only the hash is kept
    "access_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("purpose", sa.String(32), nullable=False),  # self_assessment
    sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False),
    sa.Column("program_id", sa.String(32), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime),  # when the self-assessment it opened was submitted
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

cc_self_reports = sa.Table(  # an agent's end-of-day progress report: through the form, or an e-mail entered
    "cc_self_reports", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("progress", sa.Text, nullable=False),
    sa.Column("tbt_modules", sa.Text, nullable=False),  # JSON list of the TBT modules done that day
    sa.Column("blockers", sa.Text, nullable=False),
    sa.Column("via", sa.String(16), nullable=False),  # form | email
    sa.Column("entered_by", sa.Text, nullable=False),
    sa.Column("reported_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("agent_id", "on_date"),
)

cc_equipment_tickets = sa.Table(  # an agent's equipment issue worked on with IT: the ticket and how long it is open
    "cc_equipment_tickets", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("cc_agents.id"), nullable=False),
    sa.Column("issue", sa.Text, nullable=False),
    sa.Column("ticket_ref", sa.String(64), nullable=False),  # IT's ticket reference
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("closed_on", sa.Date),
)

cc_touch_base = sa.Table(  # the Cert Coordinator's morning 15-minute touch base with the certifiers
    "cc_touch_base", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("on_date", sa.Date, nullable=False),
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
