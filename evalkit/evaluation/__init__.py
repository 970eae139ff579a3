"""The evaluation of work products: receipt, blind assignment, scoring, comparison, adjudication, decision,
notification and resubmission (``workflow``), the rubric arithmetic (``scoring``), CSV intake (``importer``) and
reading the work product itself (``documents``)."""
