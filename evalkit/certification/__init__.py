"""The candidate's certification record: knowledge-assessment results, and the status they and the work product
give in each program (``results``)."""
from .results import (RESULT_COLUMNS, STATES, CandidateStatus, ResultError, attempts, candidate_status, import_results,
                      passed_on, programs_of, record_result, standings)

__all__ = ["RESULT_COLUMNS", "STATES", "CandidateStatus", "ResultError", "attempts", "candidate_status",
           "import_results", "passed_on", "programs_of", "record_result", "standings"]
