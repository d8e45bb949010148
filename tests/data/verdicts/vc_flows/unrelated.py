"""A module no workflow imports: editing it must not make any history replay."""

LIMIT = 10
