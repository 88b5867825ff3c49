"""Clients for the places commits come from: GitLab, GitHub, plain git.

Each provider module (``gitlab``, ``github``, ``git``) defines a class
implementing ``Provider`` (see ``base``) and registers it with
``base.register``; ``base.provider_for(repository)`` returns the right one.
"""
