"""Facts about environments: tiers, Global-e hosts, the derived webhook URL, the implicit sandbox."""

from __future__ import annotations

from urllib.parse import urlsplit

SANDBOX = "sandbox"
SANDBOX_TOKEN_NAME = "Provisioner (sandbox admin)"  # the sandbox's admin token, the tool's own there

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


def normalise_host(host: str) -> str:
    """Lower case, no trailing dot, IDNA (punycode): `ACME.centra.com.` and `acme.centra.com` are one host,
    so the PROD/QA guard cannot be slipped past by spelling."""
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        return host


def domain_of(url: str) -> str:
    try:
        return normalise_host(urlsplit(url).hostname or "")
    except ValueError:  # an invalid port or bracket: the schema reports the URL itself
        return ""


def normalise_url(url: str) -> str:
    """Scheme and host normalised, default port dropped, no trailing slash: one spelling per target."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    default = {"https": 443, "http": 80}.get(scheme)
    netloc = domain_of(url) + (f":{port}" if port is not None and port != default else "")
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def webhook_url(global_e_environment: str, merchant_id: int, centra_domain: str) -> str:
    host = GLOBAL_E_HOSTS[global_e_environment]
    return (f"https://{host}/webhooks/v1/Webhooks/WebhookIntegrationApi"
            f"?merchantId={merchant_id}&domain={centra_domain}")
