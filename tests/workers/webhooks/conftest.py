from tests.support.webhooks import hooks, hooks_platform, receiver

__all__ = ["hooks", "hooks_platform", "receiver"]
