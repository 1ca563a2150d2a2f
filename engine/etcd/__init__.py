"""etcd's role: the versioned store with watch (``store``), its disk (``persistence``) and backups (``snapshot``)."""
