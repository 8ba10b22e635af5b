"""AADSTS responses as data: stable state codes, typed errors, and what a data engineer should do about each.

Entra says "never use error_description to react": we classify on `error_codes` (the AADSTS numbers),
then `suberror`, then the OAuth `error` class, in that order. Descriptions are kept only for humans and are
scrubbed of tokens before they are stored or logged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from smart_office.redaction import redact_text


class AuthState(StrEnum):
    """Outcome of getting a token for one tenant; also the `state` stored in ops.tenant_runs."""

    OK = "ok"
    CONSENT_REQUIRED = "consent_required"
    MFA_REQUIRED = "mfa_required"
    CONDITIONAL_ACCESS_BLOCKED = "conditional_access_blocked"
    PARTNER_BLOCKED = "partner_blocked"
    REFRESH_TOKEN_EXPIRED = "refresh_token_expired"
    INVALID_CLIENT = "invalid_client"
    APP_NOT_FOUND = "app_not_found"
    TENANT_NOT_FOUND = "tenant_not_found"
    GDAP_MISSING = "gdap_missing"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


REMEDIATION: dict[AuthState, str] = {
    AuthState.OK: "",
    AuthState.CONSENT_REQUIRED: (
        "The customer tenant has no consent for the partner app (or it was revoked). Re-grant it: Partner Center "
        "application consent API or the customer's admin consent URL, then rerun. A direct tenant: its admin "
        "opens `smart-office tenants consent-url <tenant>` (app-only) or signs in with `smart-office consent "
        "--tenant <tenant>` (delegated)."
    ),
    AuthState.MFA_REQUIRED: (
        "A Conditional Access/MFA policy demands a fresh MFA claim. Run `smart-office consent` again with an "
        "MFA sign-in of the partner admin; if it persists, ask the customer to exclude partner service "
        "principals from the policy."
    ),
    AuthState.CONDITIONAL_ACCESS_BLOCKED: (
        "A Conditional Access policy in that tenant blocks the sign-in. The customer's admin must adjust the "
        "policy (e.g. trusted locations/service provider users); nothing to retry until then."
    ),
    AuthState.PARTNER_BLOCKED: (
        "Microsoft blocked the partner's delegated admin access due to account risk (AADSTS530034). Remediate "
        "the partner user's risk in Entra ID Protection of the partner tenant, then re-run consent."
    ),
    AuthState.REFRESH_TOKEN_EXPIRED: (
        "The partner refresh token expired or was revoked (inactivity > 90 days, password reset, revocation). "
        "Run `smart-office consent` to obtain a new one (a direct tenant's own: `smart-office consent --tenant "
        "<tenant>`)."
    ),
    AuthState.INVALID_CLIENT: (
        "The app credential was rejected (wrong, expired or removed secret/certificate). Rotate it with "
        "`smart-office register-app --rotate-credential` and update the credential store."
    ),
    AuthState.APP_NOT_FOUND: (
        "The application id is unknown in this tenant (AADSTS700016). In a customer tenant the app was never "
        "consented there (or its service principal was deleted): grant consent as for consent_required. In "
        "the partner tenant SMART_OFFICE_CLIENT_ID is wrong or the app was deleted: check the app registration."
    ),
    AuthState.TENANT_NOT_FOUND: (
        "The tenant does not exist in this cloud (deleted, wrong cloud, or a typo). Check the customer list "
        "and SMART_OFFICE_CLOUD."
    ),
    AuthState.GDAP_MISSING: (
        "The partner user has no delegated access to this customer (no active GDAP relationship with a "
        "security role, or it expired). Create or renew the GDAP relationship in Partner Center."
    ),
    AuthState.TRANSIENT: "A temporary failure at the identity service; the next run retries it.",
    AuthState.UNKNOWN: "An unrecognised error; read the AADSTS code in the run log and Microsoft's error lookup.",
}

# States that mean the partner's own credentials are broken: every tenant would fail the same way,
# so a run stops at once with one clear message instead of recording 10,000 identical failures. The refresh
# token and the app credential are the same for every tenant. (An app unknown in one customer tenant,
# AADSTS700016, is that customer's missing consent; only at the partner's own tenant does it stop the run.)
PARTNER_LEVEL_STATES = frozenset({AuthState.REFRESH_TOKEN_EXPIRED, AuthState.INVALID_CLIENT})

_BY_CODE: dict[int, AuthState] = {
    65001: AuthState.CONSENT_REQUIRED,
    90094: AuthState.CONSENT_REQUIRED,
    90099: AuthState.CONSENT_REQUIRED,
    50076: AuthState.MFA_REQUIRED,
    50079: AuthState.MFA_REQUIRED,
    50158: AuthState.MFA_REQUIRED,
    70043: AuthState.MFA_REQUIRED,
    53003: AuthState.CONDITIONAL_ACCESS_BLOCKED,
    53000: AuthState.CONDITIONAL_ACCESS_BLOCKED,
    53001: AuthState.CONDITIONAL_ACCESS_BLOCKED,
    530034: AuthState.PARTNER_BLOCKED,
    700082: AuthState.REFRESH_TOKEN_EXPIRED,
    70008: AuthState.REFRESH_TOKEN_EXPIRED,
    50173: AuthState.REFRESH_TOKEN_EXPIRED,
    70000: AuthState.REFRESH_TOKEN_EXPIRED,
    700007: AuthState.REFRESH_TOKEN_EXPIRED,
    7000215: AuthState.INVALID_CLIENT,
    7000222: AuthState.INVALID_CLIENT,
    700027: AuthState.INVALID_CLIENT,
    700016: AuthState.APP_NOT_FOUND,
    # Client credentials at a tenant without the app's service principal: its admin never consented (sent as
    # `invalid_client`, which must not read as the partner's broken credential).
    7000229: AuthState.CONSENT_REQUIRED,
    90002: AuthState.TENANT_NOT_FOUND,
    50020: AuthState.GDAP_MISSING,
    50177: AuthState.GDAP_MISSING,
    50034: AuthState.GDAP_MISSING,
}
_BY_ERROR: dict[str, AuthState] = {
    "consent_required": AuthState.CONSENT_REQUIRED,
    "invalid_client": AuthState.INVALID_CLIENT,
    "unauthorized_client": AuthState.APP_NOT_FOUND,
    "invalid_tenant": AuthState.TENANT_NOT_FOUND,
    "temporarily_unavailable": AuthState.TRANSIENT,
}


def classify(error: dict[str, Any]) -> tuple[AuthState, int | None]:
    """Map a token-endpoint error body (as MSAL returns it) to a state and the primary AADSTS code."""
    codes = [c for c in error.get("error_codes") or [] if isinstance(c, int)]
    for code in codes:
        if code in _BY_CODE:
            return _BY_CODE[code], code
    primary = codes[0] if codes else None
    suberror = error.get("suberror")
    if suberror == "consent_required":
        return AuthState.CONSENT_REQUIRED, primary
    if suberror in {"basic_action", "additional_action"}:
        return AuthState.MFA_REQUIRED, primary
    state = _BY_ERROR.get(str(error.get("error", "")))
    return (state or AuthState.UNKNOWN), primary


class AuthError(Exception):
    """A token could not be obtained. Carries the tenant, state and AADSTS code — never a token."""

    def __init__(
        self, state: AuthState, *, tenant_id: str, code: int | None = None, detail: str = ""
    ) -> None:
        self.state = state
        self.tenant_id = tenant_id
        self.code = code
        self.detail = redact_text(detail)[:500]
        super().__init__(self._message())

    @property
    def remediation(self) -> str:
        return REMEDIATION[self.state]

    @property
    def is_partner_level(self) -> bool:
        return self.state in PARTNER_LEVEL_STATES

    def _message(self) -> str:
        code = f" (AADSTS{self.code})" if self.code else ""
        return f"{self.state.value}{code} for tenant {self.tenant_id}: {self.remediation}"


class ConsentRequiredError(AuthError):
    pass


class MfaRequiredError(AuthError):
    pass


class ConditionalAccessBlockedError(AuthError):
    pass


class PartnerBlockedError(AuthError):
    pass


class RefreshTokenExpiredError(AuthError):
    pass


class InvalidClientError(AuthError):
    pass


class AppNotFoundError(AuthError):
    pass


class TenantNotFoundError(AuthError):
    pass


class GdapMissingError(AuthError):
    pass


class TransientAuthError(AuthError):
    pass


_ERROR_TYPES: dict[AuthState, type[AuthError]] = {
    AuthState.CONSENT_REQUIRED: ConsentRequiredError,
    AuthState.MFA_REQUIRED: MfaRequiredError,
    AuthState.CONDITIONAL_ACCESS_BLOCKED: ConditionalAccessBlockedError,
    AuthState.PARTNER_BLOCKED: PartnerBlockedError,
    AuthState.REFRESH_TOKEN_EXPIRED: RefreshTokenExpiredError,
    AuthState.INVALID_CLIENT: InvalidClientError,
    AuthState.APP_NOT_FOUND: AppNotFoundError,
    AuthState.TENANT_NOT_FOUND: TenantNotFoundError,
    AuthState.GDAP_MISSING: GdapMissingError,
    AuthState.TRANSIENT: TransientAuthError,
}


def error_from_response(error: dict[str, Any], *, tenant_id: str) -> AuthError:
    """The typed error for a token-endpoint error body."""
    state, code = classify(error)
    cls = _ERROR_TYPES.get(state, AuthError)
    return cls(state, tenant_id=tenant_id, code=code, detail=str(error.get("error_description", "")))
