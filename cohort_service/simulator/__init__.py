"""A faithful stand-in for an amoCRM account and its API v4, for the demo and the tests.

Only the demo, the ``simulator`` command and tests import this package; the sync stages never do.

    account = generate_account(seed=1, leads=5_000, weeks=26)
    app = SimulatorApp(account)                      # app.handle: httpx.Request -> httpx.Response
    token = app.issue_token()                        # long-lived admin token
    with serve(app) as base_url: ...                 # real HTTP on loopback
"""

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import FaultConfig, Limits, RequestRecord, ScriptedFault
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.model import SimAccount
from cohort_service.simulator.server import run_forever, serve

__all__ = [
    "FaultConfig",
    "Limits",
    "RequestRecord",
    "ScriptedFault",
    "SimAccount",
    "SimulatorApp",
    "generate_account",
    "run_forever",
    "serve",
]
