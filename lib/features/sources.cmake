# Sources of lib/features (owned by the features component).
