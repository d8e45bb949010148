"""Public face of the effects ledger (see :mod:`replaykit.effects._ledger`)."""

from replaykit.effects._ledger import (
    ENV_LEDGER,
    EffectAttempt,
    EffectsError,
    EffectsLedger,
    EffectSlot,
    EffectsReport,
    EffectViolation,
    current_slot,
    idempotent,
    verify_effects,
)

__all__ = [
    "ENV_LEDGER",
    "EffectAttempt",
    "EffectSlot",
    "EffectViolation",
    "EffectsError",
    "EffectsLedger",
    "EffectsReport",
    "current_slot",
    "idempotent",
    "verify_effects",
]
