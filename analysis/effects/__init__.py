"""Effect estimation for the evaluation reports: what the reports show, computed, not presented.

The flow of one evaluation: :mod:`.context` reads and cuts the extract and the
payments to date; :mod:`.panels` builds the person × quarter panel of each
outcome; :mod:`.estimates` estimates TWFE and Callaway–Sant'Anna with its
aggregations; :mod:`.robustness` the doubly robust, not-yet-treated and
subgroup estimates; :mod:`.areas` the area-level inference; :mod:`.sensitivity`
the Rambachan–Roth sensitivity to pre-trends. The tables, figures and texts
built from them live in :mod:`analysis.reports`.
"""
