"""Who is a customer at a cutoff: signed up before it and not cancelled before it. Features are
built for these (customer, cutoff) pairs and labels are drawn from them, by this one rule."""

from __future__ import annotations

import ibis.expr.types as ir


def active_customers(customers: ir.Table, cutoffs: ir.Table) -> ir.Table:
    """Customer rows paired with every cutoff at which they are active (all customer columns
    plus `cutoff`)."""
    spine = customers.cross_join(cutoffs)
    return spine.filter(
        spine.signup_at < spine.cutoff,
        spine.churned_at.isnull() | (spine.churned_at >= spine.cutoff),
    )
