"""The candidate's certification record: profile and candidacies (``candidacy``), knowledge-assessment results,
and the status they and the work product give in each program (``results``); the candidate's self-assessment, opened
through the hub or a single-use link (``self_assessment``)."""
from .candidacy import (PROFILE_COLUMNS, apply, candidacies_of, candidacy, eligibility, import_profiles,
                        issue_assignment, profile, read_yaml, set_profile)
# ``certificates`` stays the module (``certificates.certificates(store)`` lists them), as callers use it
from .certificates import (certificate, decide_and_issue, history, recertify, reinstate, reissue, suspend, verify,
                           withdraw)
from .register import publish
from .self_assessment import (LINK_DAYS, DomainResult, SelfAssessmentRefused, SelfAssessmentResult, issue_link,
                              link_person, my_agent, my_candidate, open_link, result_html, result_pdf, save_draft, self_assessment_record,
                              self_assessment_result, start_self_assessment, submit_self_assessment, token_hash)
from .results import (RESULT_COLUMNS, STATES, CandidateStatus, ResultError, attempts, candidate_status, held_lower,
                      import_results, passed_on, programs_of, record_result, standings)

__all__ = ["RESULT_COLUMNS", "STATES", "CandidateStatus", "ResultError", "attempts", "candidate_status",
           "import_results", "passed_on", "programs_of", "record_result", "standings", "held_lower",
           "PROFILE_COLUMNS", "apply", "candidacies_of", "candidacy", "eligibility", "import_profiles",
           "issue_assignment", "profile", "read_yaml", "set_profile",
           "certificate", "certificates", "decide_and_issue", "history", "recertify", "reinstate", "reissue", "suspend",
           "verify", "withdraw", "publish",
           "LINK_DAYS", "DomainResult", "SelfAssessmentRefused", "SelfAssessmentResult", "issue_link", "link_person",
           "my_agent", "my_candidate", "open_link", "save_draft", "self_assessment_record", "self_assessment_result",
           "start_self_assessment", "submit_self_assessment", "token_hash", "result_html", "result_pdf"]
