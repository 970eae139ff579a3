"""The store: the schema, the connection (a workspace's SQLite file, or PostgreSQL by URL), transactions with
the audit log, and the migrations that bring an older database up to the code's schema."""
from .database import DB_FILENAME, Store, StoreConflict, StoreError, Transaction, open_store, utcnow, workspace_url
from .engine import find_workspace
from .migrate import HEAD_REVISION, SCHEMA_VERSION
from .schema import (appeals, assessment_results, assignments, audit, candidacies, candidates, certificate_events,
                     certificates, outbox, cc_actions, cc_agents, cc_calls, cc_notes,
                     conflicts, criterion_scores, decisions, meta, metadata, notifications, person_roles, programs, raters,
                     resolved_scores, resubmission_extensions, rubric_versions, submission_documents, submissions,
                     pass_mark_changes, standard_setting_panellists, standard_setting_ratings,
                     standard_setting_rounds, standard_setting_workshops,
                     access_tokens, cc_equipment_tickets, cc_self_reports, cc_touch_base, person_links,
                     self_assessment_answers, self_assessments)

__all__ = ["DB_FILENAME", "HEAD_REVISION", "SCHEMA_VERSION", "Store", "StoreError", "StoreConflict", "Transaction",
           "open_store", "find_workspace", "utcnow", "workspace_url", "metadata", "meta", "programs", "rubric_versions",
           "candidates", "candidacies", "raters", "conflicts", "submissions", "assignments", "criterion_scores", "decisions",
           "resolved_scores", "resubmission_extensions", "notifications", "audit", "assessment_results", "cc_agents", "cc_calls", "cc_actions",
           "cc_notes", "certificates", "certificate_events", "appeals", "outbox", "person_roles",
           "submission_documents", "standard_setting_workshops", "standard_setting_panellists",
           "standard_setting_rounds", "standard_setting_ratings", "pass_mark_changes",
           "person_links", "self_assessments", "self_assessment_answers", "access_tokens", "cc_self_reports",
           "cc_equipment_tickets", "cc_touch_base"]
