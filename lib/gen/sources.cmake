# Sources of lib/gen (owned by the gen component).
