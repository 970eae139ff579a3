"""The instruments: rubrics (YAML, validated, versioned by a hash of their content) and the programs they serve
(designations, pass marks, components, eligibility, certification rules)."""
