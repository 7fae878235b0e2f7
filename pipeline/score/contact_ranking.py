"""How today's contact set is ranked ([contact] rank_by): by risk, or by who can be saved once
the earlier lists' graded contact sets pass the gate (models/uplift.py, `choose_ranking`).
The graded history is read here, at the edge: the lists written before today whose horizon
has passed by today, each contact-set customer with their outcome."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from features.engines import open_tables
from models.uplift import UPLIFT, ContactRanking, choose_ranking, fall_back
from pipeline.config import Config
from pipeline.outputs import dated_lists
from pipeline.report.data import Lists
from pipeline.report.graded import graded_lists
from pipeline.report.saves import graded_contact_sets

log = logging.getLogger(__name__)

SPARK_REASON = "the Spark engine ranks the contact set by risk only"


def graded_history(config: Config, tables: dict, when: pd.Timestamp) -> pd.DataFrame:
    """The contact sets of the lists dated before `when` whose horizon ended by `when`, as
    the report grades them (outcomes from the data up to `when` only)."""
    folders = [(d, f) for d, f in dated_lists(Path(config.scoring.output_dir)) if d < when]
    lists = Lists(None, None, sorted(folders))
    graded, _ = graded_lists(lists, tables, definition=config.churn, data_end=when)
    saves = graded_contact_sets(graded, None, definition=config.churn, plays=config.plays)
    return saves.graded


def contact_ranking(config: Config, paths: dict, when: pd.Timestamp) -> ContactRanking:
    """The ranking today's contact set uses and why: risk unless uplift is asked for and the
    graded history passes the gate (the typed exports at `paths` give the outcomes)."""
    settings = config.contact
    if settings.rank_by != UPLIFT:
        return ContactRanking()
    history = graded_history(config, open_tables(paths), when)
    chosen = choose_ranking(history, asked=UPLIFT, min_graded=settings.uplift_min_graded)
    log.info("%s", chosen.line())
    return chosen


def spark_contact_ranking(config: Config) -> ContactRanking:
    """On Spark the contact set is ranked by risk; asked for uplift, it says so."""
    if config.contact.rank_by != UPLIFT:
        return ContactRanking()
    return fall_back(SPARK_REASON)
