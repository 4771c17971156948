"""Data-subject inquiry history: who queried me, when, why — sealed to the subject alone."""
