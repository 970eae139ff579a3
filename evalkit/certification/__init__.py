"""The candidate's certification record: profile and candidacies (``candidacy``), knowledge-assessment results,
and the status they and the work product give in each program (``results``)."""
from .candidacy import (PROFILE_COLUMNS, apply, candidacies_of, candidacy, eligibility, import_profiles,
                        issue_assignment, profile, read_yaml, set_profile)
# ``certificates`` stays the module (``certificates.certificates(store)`` lists them), as callers use it
from .certificates import (certificate, decide_and_issue, history, recertify, reinstate, reissue, suspend, verify,
                           withdraw)
from .register import publish
from .results import (RESULT_COLUMNS, STATES, CandidateStatus, ResultError, attempts, candidate_status, held_lower,
                      import_results, passed_on, programs_of, record_result, standings)

__all__ = ["RESULT_COLUMNS", "STATES", "CandidateStatus", "ResultError", "attempts", "candidate_status",
           "import_results", "passed_on", "programs_of", "record_result", "standings", "held_lower",
           "PROFILE_COLUMNS", "apply", "candidacies_of", "candidacy", "eligibility", "import_profiles",
           "issue_assignment", "profile", "read_yaml", "set_profile",
           "certificate", "certificates", "decide_and_issue", "history", "recertify", "reinstate", "reissue", "suspend",
           "verify", "withdraw", "publish"]
