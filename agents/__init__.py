"""The repository's own plug-in policies, registered by name on import (not installed:
import them from the repository root, as tests and experiments do)."""

from agents.local_search import PPOThenLocal

__all__ = ["PPOThenLocal"]
