"""The secrets the vendor delivery tests configure (each in the vendor's own form), which those
tests then look for, and must not find, in API answers, error texts, logs and delivery records."""

from __future__ import annotations

ROUTING_KEY = "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey32"  # PagerDuty: 32 letters and digits
USER_KEY = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"  # Pushover: 30 letters and digits
APP_TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
JIRA_TOKEN = "jira-t0ken-V3ry-S3cret"
SN_PASSWORD = "sn-pa55-V3ry-S3cret"
SLACK_TOKEN = "xOxbS3cr3tPathT0ken"  # the last part of a Slack webhook's path
SECRETS = (ROUTING_KEY, USER_KEY, APP_TOKEN, JIRA_TOKEN, SN_PASSWORD, SLACK_TOKEN)
