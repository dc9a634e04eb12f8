"""Facts about environments: tiers, Global-e hosts, the derived webhook URL, the implicit sandbox."""

from __future__ import annotations

from urllib.parse import urlsplit

SANDBOX = "sandbox"

GLOBAL_E_HOSTS = {"qa-int": "centra-int.bglobale.com", "prod": "centra.global-e.com"}
# Where the storefront loads the Global-e module (GEM) script and CSS from, per Global-e environment.
GEM_HOSTS = {"qa-int": "intgepi.bglobale.com", "prod": "gepi.global-e.com"}
QA_CENTRA_SUFFIX = ".centraqa.com"
PROD_CENTRA_SUFFIX = ".centra.com"
_PROD_NAMES = {"prod", "production", "live"}


def tier_for(name: str, declared: str | None) -> str:
    return declared or ("prod" if name in _PROD_NAMES else "qa")


def global_e_environment_for(tier: str, declared: str | None) -> str:
    return declared or ("prod" if tier == "prod" else "qa-int")


def sandbox_url(merchant: str) -> str:
    # `.invalid` is reserved (RFC 2606): the sandbox URL can never reach a real host.
    return f"https://{merchant}.sandbox.invalid"


def domain_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def webhook_url(global_e_environment: str, merchant_id: int, centra_domain: str) -> str:
    host = GLOBAL_E_HOSTS[global_e_environment]
    return (f"https://{host}/webhooks/v1/Webhooks/WebhookIntegrationApi"
            f"?merchantId={merchant_id}&domain={centra_domain}")
