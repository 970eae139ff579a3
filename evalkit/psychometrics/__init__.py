"""Evidence about the instrument and its raters: agreement coefficients (``agreement``, pure functions over a
subjects x raters matrix), generalizability theory (``gtheory``), many-facet Rasch measurement (``mfrm``),
decision consistency (``decision``), modified-Angoff standard setting (``standard_setting``, pure; workshops
recorded in the store and pass marks adopted from them: ``workshops``), the agreement and validity report read
from the store (``reports``) and its plots (``plots``)."""
