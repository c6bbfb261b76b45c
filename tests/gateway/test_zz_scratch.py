import time
from collections import Counter
from tests.gateway.admission import CHAT, EMBEDDINGS, COMPLETIONS, chat_body, body, fire
from tests.gateway.test_burst import roomy  # noqa: F401

def test_probe(roomy) -> None:
    from gptapi.gateway.upstream import registry as reg, health
    fails = []
    orig2 = reg.UpstreamRegistry.report_failure
    def rf(self, server, reason):
        fails.append((server.base_url, reason, server.in_flight))
        return orig2(self, server, reason)
    reg.UpstreamRegistry.report_failure = rf
    orig = health.HealthChecker._mark
    def mark(self, server, healthy, reason):
        fails.append(("mark", server.base_url, reason))
        return orig(self, server, healthy, reason)
    health.HealthChecker._mark = mark
    a = roomy.account("10")
    kinds = [chat_body(max_tokens=1), chat_body(max_tokens=1, stream=True), body(model="embed", input="Text"), body(model="gpt-fast", prompt="Once", max_tokens=1)]
    paths = [CHAT, CHAT, EMBEDDINGS, COMPLETIONS]
    for _ in range(3):
        replies = fire(roomy, [(paths[i % 4], a, kinds[i % 4]) for i in range(200)])
        print("RESULT", Counter(r.status for r in replies), fails)
        time.sleep(6)
