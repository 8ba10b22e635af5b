"""What each Defender product raises: alert templates per serviceSource, with the mix we draw from.

A template fixes what an analyst sees as the alert "type": title, category (MITRE tactic names as Defender
writes them), techniques, severity odds, detection sources, description, recommended actions, the kinds of
evidence it carries and what a true-positive resolution is called. Texts are written for this project in the
style of the products; titles follow the products' own alert names.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("informational", "low", "medium", "high")

# serviceSource → productName, id prefix (Defender XDR alert id prefixes), relative share of alerts.
SOURCES: dict[str, tuple[str, str, float]] = {
    "microsoftDefenderForOffice365": ("Microsoft Defender for Office 365", "fa", 0.33),
    "microsoftDefenderForEndpoint": ("Microsoft Defender for Endpoint", "da", 0.22),
    "azureAdIdentityProtection": ("Microsoft Entra ID Protection", "ad", 0.17),
    "microsoftDefenderForCloudApps": ("Microsoft Defender for Cloud Apps", "ca", 0.08),
    "dataLossPrevention": ("Microsoft Data Loss Prevention", "dl", 0.07),
    "microsoftDefenderForCloud": ("Microsoft Defender for Cloud", "dc", 0.06),
    "microsoft365Defender": ("Microsoft Defender XDR", "ra", 0.04),
    "microsoftDefenderForIdentity": ("Microsoft Defender for Identity", "aa", 0.03),
    "microsoftAppGovernance": ("App Governance", "ma", 0.01),
}

_MDE_ACTIONS = (
    "Collect artifacts and determine scope\n"
    "\u2022\tReview the device timeline for suspicious activities before and after the time of the alert, and "
    "record additional related artifacts (files, IPs/URLs).\n"
    "\u2022\tLook for the presence of relevant artifacts on other devices. Identify commonalities and "
    "differences between potentially compromised devices.\n"
    "\u2022\tSubmit relevant files for deep analysis and review the resulting detailed behavioral information.\n"
    "\u2022\tSubmit undetected files to the Microsoft Security Intelligence portal.\n\n"
    "Initiate containment & mitigation\n"
    "\u2022\tContact the user to verify intent and initiate local remediation actions as needed.\n"
    "\u2022\tUpdate antivirus signatures and run a full scan. The scan might reveal and remove "
    "previously-undetected malware components.\n"
    "\u2022\tEnsure that the device has the latest security updates, in particular the latest software, web "
    "browser and operating system versions.\n"
    "\u2022\tIf credential theft is suspected, reset all relevant users' passwords.\n"
    "\u2022\tBlock communication with relevant URLs or IPs at the organization\u2019s perimeter."
)
_AV_ACTIONS = (
    "1. Make sure real-time protection is on and the device has the latest security intelligence.\n"
    "2. Run a full antivirus scan and review the detections in the device's protection history.\n"
    "3. Find out how the file reached the device (email, download, removable media) and block the source.\n"
    "4. If the threat was not remediated, isolate the device and investigate the process tree before "
    "reconnecting it.\n"
    "5. Check other devices for the same file hash using advanced hunting."
)
_MAIL_ACTIONS = (
    "Review the messages in Explorer (Threat Explorer / real-time detections) and confirm they were removed "
    "from every mailbox. Check whether any recipient clicked the URLs or opened attachments, reset the "
    "credentials of users who entered them, and block the sender, sending domain and URLs in the Tenant "
    "Allow/Block List. Consider a user awareness message if the campaign targeted many users."
)
_SIGNIN_ACTIONS = (
    "Review the user's sign-in logs around the time of the detection (IP address, location, device, client "
    "app). If the user does not recognise the activity, confirm the user compromised: reset the password, "
    "revoke sessions and refresh tokens, and require MFA re-registration. If the activity is legitimate, "
    "confirm it safe in Identity Protection so the risk is dismissed and the model learns."
)
_CLOUD_APP_ACTIONS = (
    "Investigate the user's activity log in Defender for Cloud Apps for the 7 days before and after the "
    "alert. Check for new inbox rules, OAuth consents, mass downloads or sharing. If the activity is not "
    "expected, suspend the user, revoke sessions, and review what data was accessed. Tune the policy if "
    "the activity is a known business process."
)
_IDENTITY_ACTIONS = (
    "1. Identify the source computer and the account that performed the activity.\n"
    "2. Check whether the activity is expected (for example a vulnerability scanner or a new management "
    "tool) and exclude it if so.\n"
    "3. If not expected, contain the source computer, reset the involved accounts (twice for the KRBTGT "
    "account if ticket forgery is suspected) and review lateral movement paths to sensitive accounts."
)
_DLP_ACTIONS = (
    "Review the matched content and the policy tip the user saw. Contact the user or their manager to "
    "confirm the business need. If the sharing was not justified, revoke access to the file or recall the "
    "message, and consider tightening the policy action from notify to block."
)
_CLOUD_ACTIONS = (
    "1. Review the affected resource and the activity log around the time of the alert.\n"
    "2. If the activity is unexpected, rotate credentials and keys used by the resource, restrict network "
    "access (NSG / firewall rules) and investigate other resources in the subscription.\n"
    "3. Apply the related Defender for Cloud recommendations to reduce exposure."
)
_APP_ACTIONS = (
    "Review the app's permissions, publisher and recent Graph API activity in app governance. If the app is "
    "not sanctioned, disable it and revoke its consents, then review the mailboxes and files it accessed."
)


@dataclass(frozen=True, slots=True)
class AlertTemplate:
    """One kind of alert a product raises."""

    source: str
    title: str
    category: str
    mitre: tuple[str, ...]
    severity_weights: tuple[float, float, float, float]  # informational, low, medium, high
    detection_sources: tuple[tuple[str, float], ...]
    description: str
    recommended: str
    evidence: tuple[str, ...]
    tp_determination: str
    weight: float = 1.0
    auto_resolve: float = 0.0  # share closed by automated investigation / the product itself
    threats: tuple[tuple[str, str], ...] = ()  # (threatDisplayName, threatFamilyName) options
    scope: str = "user"  # "device", "user", "mail", "cloud": drives incident names
    policy: bool = False  # carries an alertPolicyId


def _t(
    source: str, title: str, category: str, mitre: tuple[str, ...], sev: tuple[float, ...], **kw
) -> AlertTemplate:
    return AlertTemplate(source, title, category, mitre, sev, **kw)  # type: ignore[arg-type]


_MDE = "microsoftDefenderForEndpoint"
_MDO = "microsoftDefenderForOffice365"
_IDP = "azureAdIdentityProtection"
_MDA = "microsoftDefenderForCloudApps"
_MDI = "microsoftDefenderForIdentity"
_DLP = "dataLossPrevention"
_XDR = "microsoft365Defender"
_APPG = "microsoftAppGovernance"
_MDC = "microsoftDefenderForCloud"

TEMPLATES: tuple[AlertTemplate, ...] = (
    # --- Defender for Endpoint -------------------------------------------------------------------------
    _t(
        _MDE,
        "Suspicious PowerShell command line",
        "Execution",
        ("T1059.001",),
        (0.0, 0.2, 0.65, 0.15),
        detection_sources=(("microsoftDefenderForEndpoint", 0.9), ("customDetection", 0.1)),
        description="A suspicious PowerShell command line was launched on the device. Attackers use "
        "obfuscated or encoded PowerShell to download payloads and run them in memory, leaving few "
        "artifacts on disk.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "process", "file", "user", "url"),
        tp_determination="malware",
        weight=1.4,
        auto_resolve=0.15,
        scope="device",
    ),
    _t(
        _MDE,
        "Suspicious execution of hidden file",
        "DefenseEvasion",
        ("T1564.001",),
        (0.0, 0.6, 0.35, 0.05),
        detection_sources=(("microsoftDefenderForEndpoint", 0.6), ("antivirus", 0.4)),
        description="A hidden file has been launched. This activity could indicate a compromised host. "
        "Attackers often hide files associated with malicious tools to evade file system inspection and "
        "defenses.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "file", "process", "registryKey"),
        tp_determination="malware",
        auto_resolve=0.2,
        scope="device",
    ),
    _t(
        _MDE,
        "'Wacatac' malware was detected",
        "Malware",
        ("T1204.002",),
        (0.1, 0.5, 0.35, 0.05),
        detection_sources=(("antivirus", 1.0),),
        description="Malware of the 'Wacatac' family was detected on the device. Trojans of this kind "
        "download further payloads, steal information or give attackers remote access.",
        recommended=_AV_ACTIONS,
        evidence=("device", "file", "user"),
        tp_determination="malware",
        weight=1.6,
        auto_resolve=0.6,
        threats=(("Trojan:Win32/Wacatac.B!ml", "Wacatac"), ("Trojan:Win32/Wacatac.H!ml", "Wacatac")),
        scope="device",
    ),
    _t(
        _MDE,
        "An active 'Qakbot' malware was detected",
        "Malware",
        ("T1566.001", "T1204.002"),
        (0.0, 0.0, 0.3, 0.7),
        detection_sources=(("antivirus", 1.0),),
        description="An active Qakbot process was detected while executing, and additional malicious "
        "events could occur. Qakbot is a banking trojan that is widely used as an initial access broker "
        "for ransomware operators.",
        recommended=_AV_ACTIONS,
        evidence=("device", "file", "process", "user", "url"),
        tp_determination="malware",
        weight=0.3,
        auto_resolve=0.3,
        threats=(("TrojanDownloader:O97M/Qakbot", "Qakbot"), ("Trojan:Win32/Qakbot.RPZ!MTB", "Qakbot")),
        scope="device",
    ),
    _t(
        _MDE,
        "Possible credential theft activity with 'Mimikatz'",
        "CredentialAccess",
        ("T1003.001",),
        (0.0, 0.0, 0.25, 0.75),
        detection_sources=(("antivirus", 0.5), ("microsoftDefenderForEndpoint", 0.5)),
        description="The credential theft tool Mimikatz was detected. Attackers use it to dump passwords "
        "and Kerberos tickets from memory to move laterally and escalate privileges.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "file", "process", "user"),
        tp_determination="malware",
        weight=0.25,
        threats=(("HackTool:Win32/Mimikatz", "Mimikatz"), ("HackTool:Win64/Mikatz!dha", "Mimikatz")),
        scope="device",
    ),
    _t(
        _MDE,
        "Ransomware behavior detected in the file system",
        "Ransomware",
        ("T1486", "T1490"),
        (0.0, 0.0, 0.1, 0.9),
        detection_sources=(("microsoftDefenderForEndpoint", 0.7), ("antivirus", 0.3)),
        description="A process changed a large number of files in a way typical of ransomware encryption, "
        "and may have deleted volume shadow copies to prevent recovery.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "process", "file", "user", "registryValue"),
        tp_determination="malware",
        weight=0.08,
        threats=(("Ransom:Win32/LockBit.MK!MTB", "LockBit"), ("Ransom:Win32/BlackCat.A", "BlackCat")),
        scope="device",
    ),
    _t(
        _MDE,
        "Suspicious process injection observed",
        "DefenseEvasion",
        ("T1055",),
        (0.0, 0.15, 0.6, 0.25),
        detection_sources=(("microsoftDefenderForEndpoint", 1.0),),
        description="A process injected code into another process. Attackers inject code into trusted "
        "processes to hide malicious activity and inherit their privileges.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "process", "process", "file", "user"),
        tp_determination="malware",
        weight=0.6,
        scope="device",
    ),
    _t(
        _MDE,
        "Suspicious scheduled task",
        "Persistence",
        ("T1053.005",),
        (0.05, 0.45, 0.45, 0.05),
        detection_sources=(("microsoftDefenderForEndpoint", 1.0),),
        description="A scheduled task was created that runs a script or binary from an unusual location. "
        "Attackers create scheduled tasks to keep running after reboots.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "process", "file", "registryKey"),
        tp_determination="malware",
        weight=0.7,
        scope="device",
    ),
    _t(
        _MDE,
        "'Presenoker' potentially unwanted application was detected",
        "Malware",
        ("T1204.002",),
        (0.4, 0.6, 0.0, 0.0),
        detection_sources=(("antivirus", 1.0),),
        description="A potentially unwanted application was detected. Such applications bundle adware or "
        "browser modifications and degrade device security and performance.",
        recommended=_AV_ACTIONS,
        evidence=("device", "file", "user"),
        tp_determination="unwantedSoftware",
        weight=1.0,
        auto_resolve=0.7,
        threats=(("PUA:Win32/Presenoker", "Presenoker"), ("PUA:Win32/Caypnamer.A!ml", "Caypnamer")),
        scope="device",
    ),
    _t(
        _MDE,
        "Communication with a suspicious domain",
        "CommandAndControl",
        ("T1071.001", "T1568"),
        (0.0, 0.4, 0.5, 0.1),
        detection_sources=(("microsoftDefenderForEndpoint", 0.8), ("smartScreen", 0.2)),
        description="A process connected to a domain with a poor reputation that is associated with "
        "command-and-control infrastructure.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "process", "ip", "url"),
        tp_determination="malware",
        weight=0.9,
        scope="device",
    ),
    _t(
        _MDE,
        "Attempt to turn off Microsoft Defender Antivirus protection",
        "DefenseEvasion",
        ("T1562.001",),
        (0.0, 0.1, 0.7, 0.2),
        detection_sources=(("microsoftDefenderForEndpoint", 1.0),),
        description="A process tried to turn off Microsoft Defender Antivirus protection through the "
        "registry or PowerShell. Malware disables protection before dropping its payload.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "process", "registryValue", "user"),
        tp_determination="malware",
        weight=0.4,
        scope="device",
    ),
    _t(
        _MDE,
        "Suspicious LDAP query",
        "Discovery",
        ("T1087.002", "T1069.002"),
        (0.1, 0.7, 0.2, 0.0),
        detection_sources=(("microsoftDefenderForEndpoint", 1.0),),
        description="A process ran LDAP queries that enumerate privileged groups and accounts, as "
        "reconnaissance tools such as BloodHound do.",
        recommended=_MDE_ACTIONS,
        evidence=("device", "process", "user"),
        tp_determination="maliciousUserActivity",
        weight=0.5,
        scope="device",
    ),
    # --- Defender for Office 365 -----------------------------------------------------------------------
    _t(
        _MDO,
        "Email messages containing malicious URL removed after delivery",
        "InitialAccess",
        ("T1566.002",),
        (0.85, 0.1, 0.05, 0.0),
        detection_sources=(("microsoftDefenderForOffice365", 1.0),),
        description="Emails with a malicious URL were delivered and later removed by zero-hour auto purge.",
        recommended=_MAIL_ACTIONS,
        evidence=("mailbox", "analyzedMessage", "url", "user"),
        tp_determination="phishing",
        weight=2.6,
        auto_resolve=0.75,
        scope="mail",
        policy=True,
    ),
    _t(
        _MDO,
        "Email messages containing malware removed after delivery",
        "InitialAccess",
        ("T1566.001",),
        (0.85, 0.1, 0.05, 0.0),
        detection_sources=(("microsoftDefenderForOffice365", 1.0),),
        description="Emails with a malware attachment were delivered and later removed by zero-hour auto purge.",
        recommended=_MAIL_ACTIONS,
        evidence=("mailbox", "analyzedMessage", "file", "user"),
        tp_determination="malware",
        weight=1.1,
        auto_resolve=0.75,
        scope="mail",
        policy=True,
    ),
    _t(
        _MDO,
        "A potentially malicious URL click was detected",
        "InitialAccess",
        ("T1566.002",),
        (0.0, 0.0, 0.2, 0.8),
        detection_sources=(("microsoftDefenderForOffice365", 1.0),),
        description="A user clicked a URL in an email that was later identified as malicious. The user may "
        "have entered credentials on a phishing page.",
        recommended=_MAIL_ACTIONS,
        evidence=("mailbox", "url", "user", "ip"),
        tp_determination="phishing",
        weight=0.8,
        auto_resolve=0.3,
        scope="mail",
        policy=True,
    ),
    _t(
        _MDO,
        "Email reported by user as malware or phish",
        "InitialAccess",
        ("T1566",),
        (0.7, 0.3, 0.0, 0.0),
        detection_sources=(("microsoftDefenderForOffice365", 1.0),),
        description="A user reported an email as malware or phishing with the Report button in Outlook.",
        recommended=_MAIL_ACTIONS,
        evidence=("mailbox", "analyzedMessage", "user"),
        tp_determination="phishing",
        weight=1.6,
        auto_resolve=0.5,
        scope="mail",
        policy=True,
    ),
    _t(
        _MDO,
        "Suspicious email sending patterns detected",
        "InitialAccess",
        ("T1534",),
        (0.0, 0.2, 0.7, 0.1),
        detection_sources=(("microsoftDefenderForOffice365", 1.0),),
        description="An account sent an unusual volume of email to external recipients, which often means "
        "the account is compromised and used to send spam or phishing.",
        recommended=_MAIL_ACTIONS,
        evidence=("mailbox", "user", "ip"),
        tp_determination="compromisedAccount",
        weight=0.4,
        scope="user",
        policy=True,
    ),
    _t(
        _MDO,
        "User restricted from sending email",
        "InitialAccess",
        ("T1534",),
        (0.0, 0.0, 0.3, 0.7),
        detection_sources=(("microsoftDefenderForOffice365", 1.0),),
        description="A user was restricted from sending email after exceeding outbound spam limits.",
        recommended=_MAIL_ACTIONS,
        evidence=("mailbox", "user"),
        tp_determination="compromisedAccount",
        weight=0.2,
        scope="user",
        policy=True,
    ),
    _t(
        _MDO,
        "Creation of forwarding/redirect rule",
        "Exfiltration",
        ("T1114.003",),
        (0.6, 0.4, 0.0, 0.0),
        detection_sources=(("microsoftDefenderForOffice365", 1.0),),
        description="A mailbox rule was created that forwards or redirects mail to an external address.",
        recommended=_MAIL_ACTIONS,
        evidence=("mailbox", "user", "ip"),
        tp_determination="compromisedAccount",
        weight=0.6,
        scope="user",
        policy=True,
    ),
    # --- Entra ID Protection ---------------------------------------------------------------------------
    _t(
        _IDP,
        "Unfamiliar sign-in properties",
        "InitialAccess",
        ("T1078",),
        (0.0, 0.55, 0.45, 0.0),
        detection_sources=(("azureAdIdentityProtection", 1.0),),
        description="The sign-in had properties (IP address, ASN, location, device, browser) that were not "
        "seen recently for this user.",
        recommended=_SIGNIN_ACTIONS,
        evidence=("user", "ip", "cloudApplication"),
        tp_determination="compromisedAccount",
        weight=2.0,
        auto_resolve=0.35,
        scope="user",
    ),
    _t(
        _IDP,
        "Atypical travel",
        "InitialAccess",
        ("T1078",),
        (0.0, 0.3, 0.7, 0.0),
        detection_sources=(("azureAdIdentityProtection", 1.0),),
        description="Two sign-ins came from geographically distant locations within a time shorter than "
        "the travel time between them.",
        recommended=_SIGNIN_ACTIONS,
        evidence=("user", "ip", "ip"),
        tp_determination="compromisedAccount",
        weight=1.0,
        auto_resolve=0.3,
        scope="user",
    ),
    _t(
        _IDP,
        "Anonymous IP address",
        "InitialAccess",
        ("T1090.003",),
        (0.0, 0.6, 0.4, 0.0),
        detection_sources=(("azureAdIdentityProtection", 1.0),),
        description="The user signed in from an anonymous IP address such as a Tor exit node or an "
        "anonymiser VPN.",
        recommended=_SIGNIN_ACTIONS,
        evidence=("user", "ip"),
        tp_determination="compromisedAccount",
        weight=0.6,
        auto_resolve=0.3,
        scope="user",
    ),
    _t(
        _IDP,
        "Password spray",
        "CredentialAccess",
        ("T1110.003",),
        (0.0, 0.0, 0.3, 0.7),
        detection_sources=(("azureAdIdentityProtection", 1.0),),
        description="Many accounts were attacked with a few common passwords from the same infrastructure, "
        "and at least one sign-in for this user succeeded.",
        recommended=_SIGNIN_ACTIONS,
        evidence=("user", "ip", "ip"),
        tp_determination="compromisedAccount",
        weight=0.3,
        scope="user",
    ),
    _t(
        _IDP,
        "Leaked credentials",
        "CredentialAccess",
        ("T1589.001",),
        (0.0, 0.2, 0.3, 0.5),
        detection_sources=(("azureAdIdentityProtection", 1.0),),
        description="The user's valid credentials were found in a public leak or on the dark web by "
        "Microsoft's threat intelligence.",
        recommended=_SIGNIN_ACTIONS,
        evidence=("user",),
        tp_determination="compromisedAccount",
        weight=0.3,
        scope="user",
    ),
    _t(
        _IDP,
        "Anomalous Token",
        "CredentialAccess",
        ("T1528", "T1550.001"),
        (0.0, 0.1, 0.6, 0.3),
        detection_sources=(("azureAdIdentityProtection", 1.0),),
        description="A token had unusual characteristics (lifetime, claims, replay from an unfamiliar "
        "location), which can indicate token theft by an adversary-in-the-middle kit.",
        recommended=_SIGNIN_ACTIONS,
        evidence=("user", "ip", "cloudApplication"),
        tp_determination="compromisedAccount",
        weight=0.3,
        scope="user",
    ),
    # --- Defender for Cloud Apps -----------------------------------------------------------------------
    _t(
        _MDA,
        "Impossible travel activity",
        "InitialAccess",
        ("T1078",),
        (0.0, 0.3, 0.7, 0.0),
        detection_sources=(("cloudAppSecurity", 1.0),),
        description="Activities by the same user were performed from distant locations within a time "
        "period shorter than the travel time between them.",
        recommended=_CLOUD_APP_ACTIONS,
        evidence=("user", "ip", "ip", "cloudApplication"),
        tp_determination="compromisedAccount",
        weight=1.2,
        scope="user",
        policy=True,
    ),
    _t(
        _MDA,
        "Mass download by a single user",
        "Exfiltration",
        ("T1530",),
        (0.0, 0.3, 0.6, 0.1),
        detection_sources=(("cloudAppSecurity", 1.0),),
        description="A user downloaded an unusually large number of files from SharePoint or OneDrive in "
        "a short time.",
        recommended=_CLOUD_APP_ACTIONS,
        evidence=("user", "ip", "cloudApplication", "file"),
        tp_determination="maliciousUserActivity",
        weight=0.6,
        scope="user",
        policy=True,
    ),
    _t(
        _MDA,
        "Suspicious inbox forwarding",
        "Exfiltration",
        ("T1114.003",),
        (0.0, 0.1, 0.7, 0.2),
        detection_sources=(("cloudAppSecurity", 1.0),),
        description="A user created an inbox rule that forwards all mail to an external address, a common "
        "technique after a mailbox compromise.",
        recommended=_CLOUD_APP_ACTIONS,
        evidence=("user", "mailbox", "ip", "cloudApplication"),
        tp_determination="compromisedAccount",
        weight=0.5,
        scope="user",
        policy=True,
    ),
    _t(
        _MDA,
        "Activity from infrequent country",
        "InitialAccess",
        ("T1078",),
        (0.1, 0.7, 0.2, 0.0),
        detection_sources=(("cloudAppSecurity", 1.0),),
        description="An activity came from a country that no one in the organisation has used recently.",
        recommended=_CLOUD_APP_ACTIONS,
        evidence=("user", "ip", "cloudApplication"),
        tp_determination="compromisedAccount",
        weight=0.8,
        scope="user",
        policy=True,
    ),
    _t(
        _MDA,
        "Unusual file deletion activity",
        "Impact",
        ("T1485",),
        (0.0, 0.3, 0.6, 0.1),
        detection_sources=(("cloudAppSecurity", 1.0),),
        description="A user deleted an unusually large number of files compared with their baseline.",
        recommended=_CLOUD_APP_ACTIONS,
        evidence=("user", "ip", "cloudApplication"),
        tp_determination="maliciousUserActivity",
        weight=0.3,
        scope="user",
        policy=True,
    ),
    # --- Defender for Identity -------------------------------------------------------------------------
    _t(
        _MDI,
        "Suspected DCSync attack (replication of directory services)",
        "CredentialAccess",
        ("T1003.006",),
        (0.0, 0.0, 0.2, 0.8),
        detection_sources=(("microsoftDefenderForIdentity", 1.0),),
        description="A computer that is not a domain controller requested replication of directory data, "
        "which returns password hashes of any account.",
        recommended=_IDENTITY_ACTIONS,
        evidence=("user", "device", "device", "securityGroup"),
        tp_determination="apt",
        weight=0.2,
        scope="device",
    ),
    _t(
        _MDI,
        "Suspected Brute Force attack (Kerberos, NTLM)",
        "CredentialAccess",
        ("T1110",),
        (0.0, 0.3, 0.6, 0.1),
        detection_sources=(("microsoftDefenderForIdentity", 1.0),),
        description="Many authentication failures with Kerberos or NTLM were seen from one computer "
        "against one or more accounts.",
        recommended=_IDENTITY_ACTIONS,
        evidence=("user", "device", "ip"),
        tp_determination="compromisedAccount",
        weight=0.8,
        scope="device",
    ),
    _t(
        _MDI,
        "Account enumeration reconnaissance",
        "Discovery",
        ("T1087.002",),
        (0.0, 0.4, 0.6, 0.0),
        detection_sources=(("microsoftDefenderForIdentity", 1.0),),
        description="A computer queried domain controllers for many existing and non-existing account "
        "names, as attackers do to map valid accounts.",
        recommended=_IDENTITY_ACTIONS,
        evidence=("device", "user", "ip"),
        tp_determination="maliciousUserActivity",
        weight=0.7,
        scope="device",
    ),
    _t(
        _MDI,
        "Suspected identity theft (pass-the-ticket)",
        "LateralMovement",
        ("T1550.003",),
        (0.0, 0.0, 0.3, 0.7),
        detection_sources=(("microsoftDefenderForIdentity", 1.0),),
        description="A Kerberos ticket issued to one computer was used from another computer.",
        recommended=_IDENTITY_ACTIONS,
        evidence=("user", "device", "device"),
        tp_determination="compromisedAccount",
        weight=0.3,
        scope="device",
    ),
    # --- Data Loss Prevention --------------------------------------------------------------------------
    _t(
        _DLP,
        "DLP policy (U.S. Financial Data) matched for email",
        "Exfiltration",
        ("T1048",),
        (0.2, 0.6, 0.2, 0.0),
        detection_sources=(("microsoftDataLossPrevention", 1.0),),
        description="An email sent outside the organisation matched the U.S. Financial Data DLP policy "
        "(credit card or bank account numbers).",
        recommended=_DLP_ACTIONS,
        evidence=("user", "mailbox", "analyzedMessage"),
        tp_determination="maliciousUserActivity",
        weight=1.0,
        scope="user",
        policy=True,
    ),
    _t(
        _DLP,
        "DLP policy (General Data Protection Regulation (GDPR)) matched for document",
        "Exfiltration",
        ("T1567",),
        (0.2, 0.6, 0.2, 0.0),
        detection_sources=(("microsoftDataLossPrevention", 1.0),),
        description="A document shared externally from SharePoint or OneDrive matched the GDPR DLP policy "
        "(EU personal data).",
        recommended=_DLP_ACTIONS,
        evidence=("user", "file", "cloudApplication"),
        tp_determination="maliciousUserActivity",
        weight=1.0,
        scope="user",
        policy=True,
    ),
    # --- Defender XDR (correlation) --------------------------------------------------------------------
    _t(
        _XDR,
        "Suspicious URL clicked",
        "InitialAccess",
        ("T1566.002", "T1204.001"),
        (0.0, 0.0, 0.3, 0.7),
        detection_sources=(("microsoft365Defender", 1.0),),
        description="A user opened a URL that Microsoft Defender XDR correlated with a phishing campaign "
        "across email and endpoint signals.",
        recommended=_MAIL_ACTIONS,
        evidence=("user", "mailbox", "url", "device", "ip"),
        tp_determination="phishing",
        weight=1.0,
        scope="user",
    ),
    _t(
        _XDR,
        "User compromised in AiTM phishing attack",
        "CredentialAccess",
        ("T1557", "T1539"),
        (0.0, 0.0, 0.0, 1.0),
        detection_sources=(("microsoft365Defender", 1.0),),
        description="A user's session cookie was stolen through an adversary-in-the-middle phishing page "
        "and replayed from attacker infrastructure.",
        recommended=_SIGNIN_ACTIONS,
        evidence=("user", "ip", "url", "cloudApplication"),
        tp_determination="compromisedAccount",
        weight=0.4,
        scope="user",
    ),
    _t(
        _XDR,
        "Possible BEC financial fraud",
        "Collection",
        ("T1114.002", "T1534"),
        (0.0, 0.0, 0.2, 0.8),
        detection_sources=(("microsoft365Defender", 1.0),),
        description="A compromised mailbox was used to read finance-related mail and to reply to payment "
        "threads with changed bank details.",
        recommended=_MAIL_ACTIONS,
        evidence=("user", "mailbox", "ip", "analyzedMessage"),
        tp_determination="compromisedAccount",
        weight=0.2,
        scope="user",
    ),
    # --- App governance --------------------------------------------------------------------------------
    _t(
        _APPG,
        "App with suspicious OAuth scope made graph calls to read email",
        "Collection",
        ("T1114.002", "T1528"),
        (0.0, 0.2, 0.6, 0.2),
        detection_sources=(("appGovernanceDetection", 0.8), ("appGovernancePolicy", 0.2)),
        description="A recently consented OAuth app with broad mail permissions read many mailboxes "
        "through Microsoft Graph.",
        recommended=_APP_ACTIONS,
        evidence=("oauthApplication", "user", "cloudApplication"),
        tp_determination="maliciousUserActivity",
        weight=1.0,
        scope="cloud",
        policy=True,
    ),
    # --- Defender for Cloud (evolvable serviceSource and detection sources) ---------------------------
    _t(
        _MDC,
        "Failed SSH brute force attack",
        "InitialAccess",
        ("T1110.001",),
        (0.0, 0.6, 0.4, 0.0),
        detection_sources=(("microsoftDefenderForServers", 1.0),),
        description="Failed SSH login attempts from one source IP were detected against a virtual machine.",
        recommended=_CLOUD_ACTIONS,
        evidence=("azureResource", "ip"),
        tp_determination="maliciousUserActivity",
        weight=1.2,
        scope="cloud",
    ),
    _t(
        _MDC,
        "Access from a Tor exit node to a storage account",
        "InitialAccess",
        ("T1090.003",),
        (0.0, 0.2, 0.6, 0.2),
        detection_sources=(("microsoftDefenderForStorage", 1.0),),
        description="A storage account was accessed successfully from an IP address known to be a Tor "
        "exit node.",
        recommended=_CLOUD_ACTIONS,
        evidence=("azureResource", "ip"),
        tp_determination="maliciousUserActivity",
        weight=0.5,
        scope="cloud",
    ),
    _t(
        _MDC,
        "Suspicious PowerShell activity detected on a virtual machine",
        "Execution",
        ("T1059.001",),
        (0.0, 0.2, 0.6, 0.2),
        detection_sources=(("microsoftDefenderForServers", 0.7), ("microsoftDefenderForCloud", 0.3)),
        description="Analysis of process data on the virtual machine found encoded PowerShell commonly "
        "used by attack frameworks.",
        recommended=_CLOUD_ACTIONS,
        evidence=("azureResource", "process", "user"),
        tp_determination="malware",
        weight=0.6,
        scope="cloud",
    ),
    _t(
        _MDC,
        "Unusual access to a key vault from a suspicious IP",
        "CredentialAccess",
        ("T1555",),
        (0.0, 0.1, 0.6, 0.3),
        detection_sources=(("microsoftDefenderForKeyVault", 1.0),),
        description="Secrets in a key vault were read from an IP address not seen for this vault before.",
        recommended=_CLOUD_ACTIONS,
        evidence=("azureResource", "ip", "user"),
        tp_determination="maliciousUserActivity",
        weight=0.3,
        scope="cloud",
    ),
)

TEMPLATES_BY_SOURCE: dict[str, tuple[int, ...]] = {
    source: tuple(i for i, t in enumerate(TEMPLATES) if t.source == source) for source in SOURCES
}

# Alerts from these sources often share an incident with alerts from the listed ones (attack chains).
CHAINS: dict[str, tuple[str, ...]] = {
    _MDO: (_IDP, _MDA, _XDR),
    _IDP: (_MDA, _MDO),
    _MDE: (_MDI, _XDR),
    _MDI: (_MDE,),
    _MDA: (_IDP, _APPG),
    _XDR: (_MDO, _IDP),
    _DLP: (),
    _APPG: (_MDA,),
    _MDC: (),
}

TACTIC_NAMES = {
    "InitialAccess": "Initial access",
    "Execution": "Execution",
    "Persistence": "Persistence",
    "PrivilegeEscalation": "Privilege escalation",
    "DefenseEvasion": "Defense evasion",
    "CredentialAccess": "Credential access",
    "Discovery": "Discovery",
    "LateralMovement": "Lateral movement",
    "Collection": "Collection",
    "CommandAndControl": "Command and control",
    "Exfiltration": "Exfiltration",
    "Impact": "Impact",
    "Malware": "Malware",
    "Ransomware": "Ransomware",
    "SuspiciousActivity": "Suspicious activity",
}
