# Sources of lib/score (owned by the score component).
