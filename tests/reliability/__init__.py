"""The reliability and security suite: tries hard to make the cache wrong, stale or fatal."""
