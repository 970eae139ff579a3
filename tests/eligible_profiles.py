"""Candidates whom CIAC's eligibility rule sets admit, for tests that receive their work products."""
from evalkit.certification import set_profile
from evalkit.evaluation import workflow

#: A profile that meets CIAC's CCOM and CCSL routes (a year and more in each role in a call centre).
ELIGIBLE = {"education": {"highest": "bachelor"},
            "experience": [{"years": 3, "role": "management", "call_center": True, "employer": "private"},
                           {"years": 2, "role": "strategic_leadership", "call_center": True, "employer": "private"}]}


def add_eligible_candidate(store, external_id: str, first_name: str = "Jane", last_name: str = "Smith", *args,
                           **kwargs) -> int:
    """Register a candidate with a profile that CCOM's and CCSL's eligibility rule sets admit."""
    cid = workflow.add_candidate(store, external_id, first_name, last_name, *args, **kwargs)
    set_profile(store, external_id, ELIGIBLE)
    return cid
