"""Operations on nodes (filled in by the ops modules)."""
