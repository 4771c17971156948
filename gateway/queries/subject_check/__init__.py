"""The masked subject check: multi-lender exposure, blacklist and inquiry history of a token."""
