"""Evidence about the instrument and its raters: agreement coefficients (``agreement``, pure functions over a
subjects x raters matrix), the agreement report read from the store (``reports``) and its plots (``plots``)."""
