"""Call certification of newly trained agents: pass rules, the escalation ladder, scorecards and daily reports.

The rules (the process, as a specification) are in :mod:`.rules`; the store's records and each agent's standing
in :mod:`.records` (also the agent's e-mail address and queueing a scored call's scorecard to it); the scorecard
workbook in :mod:`.workbook`; the end-of-day report, and queueing it to its distribution list, in :mod:`.report`;
demo agents in :mod:`.demo`; the agent's end-of-day self-report, the training days and the agents who have not
reported in :mod:`.self_report`. Every public name of these modules is here: use ``evalkit.callcert.<name>``.
"""
from . import demo, records, report, rules, self_report, workbook
from .demo import *  # noqa: F401,F403
from .records import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403
from .rules import *  # noqa: F401,F403
from .self_report import *  # noqa: F401,F403
from .workbook import *  # noqa: F401,F403

__all__ = [*rules.__all__, *records.__all__, *workbook.__all__, *report.__all__, *demo.__all__,
           *self_report.__all__]
