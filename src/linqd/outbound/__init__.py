"""Outbound connections that API users ask for, and the operator's policy over them.

``policy`` decides (allow/deny rules over defaults, judged on resolved addresses); ``http``
enforces it for httpx at connect time. Kafka's enforcement lives with the Kafka sink, since
librdkafka connects on its own.
"""

from .policy import DEFAULT_POLICY, OutboundPolicy, Rule, Target, Verdict

__all__ = ["DEFAULT_POLICY", "OutboundPolicy", "Rule", "Target", "Verdict"]
