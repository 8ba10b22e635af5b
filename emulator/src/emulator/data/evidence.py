"""alertEvidence JSON (microsoft.graph.security.*Evidence) for emulated alerts, shaped per the CSDL.

Rendering evidence is the bulk of an alert's bytes, so it is assembled from pre-serialised fragments:
each tenant has a cached `World` — its users, devices, malicious files, attacker IPs and URLs, phishing
messages, OAuth apps, Azure resources and AD groups — with every entity's JSON properties encoded once. An
alert picks entities from its tenant's world (the same users and devices recur across a tenant's alerts, as
in real life) and `evidence_json(kinds, scene, include_unknown)` joins fragments with the per-alert parts
(createdDateTime, verdict, remediationStatus, roles, process times). Every subtype carries the alertEvidence
base properties (`@odata.type`, createdDateTime, verdict, remediationStatus, remediationStatusDetails, roles,
detailedRoles, tags).
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import orjson

from emulator.data.determinism import between, index_in, pick, rng_for, stable_uuid
from emulator.data.enums import EVOLVABLE_REMEDIATION_STATUSES, render
from emulator.data.jsonbytes import dumps_compact
from emulator.data.portfolio import Customer
from emulator.data.timestamps import DAY, HOUR, MINUTE, iso7, to_us

_FIRST = (
    "Aisha", "Ben", "Carla", "Deepak", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Keira", "Liam",
    "Maya", "Noah", "Olivia", "Pavel", "Quinn", "Rosa", "Sean", "Tara", "Uma", "Victor", "Wendy", "Xavier",
    "Yara", "Zoe", "Amir", "Bianca", "Chen", "Dana", "Emeka", "Freya", "Gustavo", "Hana", "Ivan", "Julia",
)  # fmt: skip
_LAST = (
    "Adams", "Bauer", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Kowalski",
    "Larsen", "Moreau", "Nakamura", "Okafor", "Patel", "Quintero", "Rossi", "Schmidt", "Tanaka", "Usman",
    "Varga", "Walsh", "Xu", "Yilmaz", "Zimmermann", "Andersen", "Brennan", "Chowdhury", "Dubois",
)  # fmt: skip
# (country letter code, country, city, state, latitude, longitude)
_PLACES = (
    ("US", "United States", "Ashburn", "Virginia", 39.0438, -77.4874),
    ("US", "United States", "Dallas", "Texas", 32.7767, -96.797),
    ("GB", "United Kingdom", "London", "England", 51.5072, -0.1276),
    ("DE", "Germany", "Frankfurt am Main", "Hesse", 50.1109, 8.6821),
    ("NL", "Netherlands", "Amsterdam", "North Holland", 52.3676, 4.9041),
    ("NG", "Nigeria", "Lagos", "Lagos", 6.5244, 3.3792),
    ("RU", "Russia", "Moscow", "Moscow", 55.7558, 37.6173),
    ("CN", "China", "Shanghai", "Shanghai", 31.2304, 121.4737),
    ("BR", "Brazil", "Sao Paulo", "Sao Paulo", -23.5505, -46.6333),
    ("VN", "Vietnam", "Hanoi", "Hanoi", 21.0278, 105.8342),
    ("RO", "Romania", "Bucharest", "Bucharest", 44.4268, 26.1025),
    ("SG", "Singapore", "Singapore", "Singapore", 1.3521, 103.8198),
    ("AU", "Australia", "Sydney", "New South Wales", -33.8688, 151.2093),
)
_CLOUD_APPS = (
    (11161, "Office 365"),
    (20893, "Microsoft Exchange Online"),
    (20892, "Microsoft SharePoint Online"),
    (15600, "Microsoft OneDrive for Business"),
    (28375, "Microsoft Teams"),
    (12260, "Microsoft Azure"),
)
_OAUTH_APPS = (
    ("Mail Organizer Pro", "Mailsuite Labs"),
    ("PDF Converter Online", "DocuTools Inc."),
    ("Calendar Sync Helper", "Synctastic"),
    ("Outlook Productivity Add-in", "ProductiveApps LLC"),
)
_PHISH_SUBJECTS = (
    "Action required: your mailbox storage is full",
    "Invoice {n} overdue - please review",
    "You have received a secure document",
    "Payroll update for {month}",
    "Shared: Q{q} contract amendment",
    "DocuSign: please review and sign",
    "Voicemail received ({n}s)",
)
_MONTHS = ("January", "March", "June", "September", "November")
_BAD_DOMAINS = (
    "secure-docview.com", "m365-login-verify.net", "invoice-portal.co", "sharefile-access.info",
    "office-auth-check.xyz", "docs-signing.app", "payroll-update.online",
)  # fmt: skip
_MALWARE_FILES = (
    ("invoice_{n}.js", "C:\\Users\\{user}\\Downloads"),
    ("update.exe", "C:\\Users\\{user}\\AppData\\Local\\Temp"),
    ("Document_{n}.docm", "C:\\Users\\{user}\\Downloads"),
    ("svchost32.exe", "C:\\ProgramData\\Microsoft\\Crypto"),
    ("setup_{n}.msi", "C:\\Users\\{user}\\Downloads"),
    ("payload.dll", "C:\\Windows\\Temp"),
)
_COMMAND_LINES = (
    "powershell.exe -NoP -NonI -W Hidden -Enc {b64}",
    'cmd.exe /c "schtasks /create /sc minute /mo 30 /tn OneDriveUpdate /tr {path}"',
    "rundll32.exe {path},DllRegisterServer",
    "powershell.exe -ExecutionPolicy Bypass -File C:\\Windows\\Temp\\{n}.ps1",
    '"{path}" /silent',
)
_PARENTS = ("explorer.exe", "outlook.exe", "winword.exe", "services.exe", "cmd.exe")
_OS = (
    ("Windows11", 22631, "23H2"),
    ("Windows11", 26100, "24H2"),
    ("Windows10", 19045, "22H2"),
    ("WindowsServer2022", 20348, "Server2022"),
    ("WindowsServer2019", 17763, "Server2019"),
)
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True, slots=True)
class Person:
    """A user of the tenant as evidence shows them."""

    display_name: str
    upn: str
    account_name: str
    azure_ad_user_id: str
    sid: str | None
    domain: str


@lru_cache(maxsize=65536)
def person(tenant_id: str, domain: str, netbios: str, index: int) -> Person:
    """User `index` of a tenant; a third are synced from on-premises AD (with a SID and NetBIOS domain)."""
    first = _FIRST[(index * 7 + len(domain)) % len(_FIRST)]
    last = _LAST[(index * 11 + len(tenant_id) + index // len(_FIRST)) % len(_LAST)]
    account = f"{first}.{last}".lower() + (str(index // 200) if index >= 200 else "")
    synced = index % 3 == 0
    sid_base = int(tenant_id.replace("-", "")[:8], 16)
    sid = f"S-1-5-21-{sid_base % 4_000_000_000}-{(sid_base * 7) % 999_999_999}-{(sid_base * 13) % 999_999}"
    return Person(
        display_name=f"{first} {last}",
        upn=f"{account}@{domain}",
        account_name=account,
        azure_ad_user_id=stable_uuid(0, tenant_id, "user", index),
        sid=f"{sid}-{1100 + index}" if synced else None,
        domain=netbios if synced else domain,
    )


def netbios_for(customer: Customer) -> str:
    """The on-premises NetBIOS domain name of a hybrid tenant (uppercase, at most 15 characters)."""
    return customer.default_domain.split(".", 1)[0].upper()[:15]


def _fragment(properties: dict[str, object]) -> bytes:
    """JSON object members without the braces, ready to splice into a larger object."""
    return orjson.dumps(properties)[1:-1]


def _hex(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def _uuid(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-{'89ab'[int(value[16], 16) % 4]}{value[17:20]}-{value[20:]}"


def _base36(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits.append(_BASE36[digit])
    return "".join(digits)


def _public_ip(rng: random.Random) -> str:
    first = rng.choice((5, 23, 31, 37, 45, 46, 77, 89, 91, 102, 103, 109, 138, 141, 176, 185, 193, 194, 203))
    return f"{first}.{rng.randrange(1, 255)}.{rng.randrange(0, 255)}.{rng.randrange(1, 254)}"


def _user_account(user: Person) -> dict[str, object]:
    return {
        "accountName": user.account_name,
        "domainName": user.domain,
        "userSid": user.sid,
        "azureAdUserId": user.azure_ad_user_id,
        "userPrincipalName": user.upn,
        "displayName": user.display_name,
    }


class World:
    """One tenant's recurring entities, each with its evidence properties pre-serialised."""

    def __init__(self, customer: Customer) -> None:
        rng = rng_for(0, customer.tenant_id, "world")
        tenant, domain = customer.tenant_id, customer.custom_domain
        netbios = netbios_for(customer)
        seats = customer.seats
        self.users = [person(tenant, domain, netbios, i) for i in range(max(3, min(seats, 60)))]
        self.user_accounts = [dumps_compact(_user_account(u)) for u in self.users]
        self.mailboxes = [
            _fragment({"displayName": u.display_name, "primaryAddress": u.upn, "upn": u.upn})
            + b',"userAccount":'
            + account
            for u, account in zip(self.users, self.user_accounts, strict=True)
        ]
        first_seen_base = to_us(customer.customer_since)
        self.devices: list[bytes] = []
        self.device_ids: list[str] = []
        for index in range(max(2, min(round(seats * 1.1), 40))):
            self.device_ids.append(_hex(rng, 40))
            self.devices.append(self._device(rng, index, customer, netbios, first_seen_base))
        self.file_details: list[bytes] = []
        self.command_lines: list[bytes] = []
        for _ in range(24):
            name, folder = rng.choice(_MALWARE_FILES)
            number = rng.randrange(1000, 99999)
            path = folder.format(user=rng.choice(self.users).account_name)
            details = dumps_compact(
                {
                    "sha1": _hex(rng, 40),
                    "sha256": _hex(rng, 64),
                    "fileName": name.format(n=number),
                    "filePath": path,
                    "fileSize": rng.randrange(20_000, 9_000_000),
                    "filePublisher": None,
                    "signer": None,
                    "issuer": None,
                }
            )
            self.file_details.append(details)
            command = rng.choice(_COMMAND_LINES).format(
                b64=_hex(rng, 48).upper(), path=f"{path}\\{name.format(n=number)}", n=rng.randrange(100, 999)
            )
            self.command_lines.append(dumps_compact(command))
        self.parents = [
            dumps_compact(
                {
                    "sha1": None,
                    "sha256": None,
                    "fileName": parent,
                    "filePath": "C:\\Windows",
                    "fileSize": rng.randrange(300_000, 5_000_000),
                    "filePublisher": "Microsoft Corporation",
                    "signer": None,
                    "issuer": None,
                }
            )
            for parent in _PARENTS
        ]
        self.ips: list[bytes] = []
        self.ip_addresses: list[str] = []
        for _ in range(24):
            code, country, city, state, latitude, longitude = rng.choice(_PLACES)
            address = _public_ip(rng)
            self.ip_addresses.append(address)
            location = {"city": city, "countryName": country, "latitude": latitude, "longitude": longitude}
            location["state"] = state
            self.ips.append(
                _fragment(
                    {"ipAddress": address, "countryLetterCode": code, "location": location, "stream": None}
                )
            )
        self.urls = [f"https://{rng.choice(_BAD_DOMAINS)}/{_hex(rng, 10)}/login" for _ in range(24)]
        self.messages = [self._message(rng, index) for index in range(32)]
        self.oauth_apps = [
            _fragment(
                {"appId": _uuid(rng), "displayName": name, "objectId": _uuid(rng), "publisher": publisher}
            )
            for name, publisher in _OAUTH_APPS
        ]
        self.resources = [self._resource(rng, customer, netbios) for _ in range(8)]
        self.groups = [self._group(rng, customer, name) for name in ("Domain Admins", "Enterprise Admins")]

    def _device(self, rng: random.Random, index: int, customer: Customer, netbios: str, base: int) -> bytes:
        platform, build, version = rng.choice(_OS)
        style = rng.random()
        suffix = _base36(rng.getrandbits(36), 7)
        if platform.startswith("WindowsServer"):
            host = f"{netbios[:6]}-SRV{index:02d}"
        else:
            host = f"DESKTOP-{suffix}" if style < 0.6 else f"LAPTOP-{suffix}"
        user = self.users[index % len(self.users)]
        hybrid = user.sid is not None
        dns_domain = f"corp.{customer.custom_domain}" if hybrid else None
        private = f"10.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}.{rng.randrange(2, 254)}"
        return _fragment(
            {
                "firstSeenDateTime": iso7(
                    base - rng.randrange(1, 900) * DAY - rng.randrange(0, 86_400_000_000)
                ),
                "mdeDeviceId": self.device_ids[-1],
                "azureAdDeviceId": _uuid(rng),
                "deviceDnsName": f"{host.lower()}.{dns_domain}" if dns_domain else host.lower(),
                "hostName": host,
                "ntDomain": netbios if hybrid else None,
                "dnsDomain": dns_domain,
                "osPlatform": platform,
                "osBuild": build,
                "version": version,
                "healthStatus": "active",
                "riskScore": rng.choice(("low", "medium", "high", "none")),
                "rbacGroupId": rng.randrange(1, 120),
                "rbacGroupName": rng.choice(
                    ("UnassignedGroup", "Workstations", "Servers", "Finance devices")
                ),
                "onboardingStatus": "onboarded",
                "defenderAvStatus": rng.choice(("updated", "updated", "notUpdated")),
                "ipInterfaces": [private, "127.0.0.1", "::1"],
                "lastIpAddress": private,
                "lastExternalIpAddress": _public_ip(rng),
                "loggedOnUsers": [{"accountName": user.account_name, "domainName": netbios}],
                "vmMetadata": None,
            }
        )

    def _message(self, rng: random.Random, index: int) -> tuple[bytes, bytes]:
        """(members before receivedDateTime, members after it) of an analyzedMessageEvidence."""
        url = self.urls[index % len(self.urls)]
        sender_domain = url.split("/")[2]
        sender = f"{rng.choice(('no-reply', 'billing', 'hr', 'docs', 'support'))}@{sender_domain}"
        subject = rng.choice(_PHISH_SUBJECTS).format(
            n=rng.randrange(1000, 99999), month=rng.choice(_MONTHS), q=rng.randrange(1, 5)
        )
        head = _fragment(
            {
                "antiSpamDirection": "Inbound",
                "attachmentsCount": rng.choice((0, 0, 1)),
                "deliveryAction": rng.choice(("Delivered", "Delivered", "Junked", "Blocked")),
                "deliveryLocation": rng.choice(
                    ("Inbox/folder", "Junk folder", "Quarantine", "Deleted folder")
                ),
                "internetMessageId": f"<{_hex(rng, 24).upper()}@{sender_domain}>",
                "language": "en",
                "networkMessageId": _uuid(rng),
                "p1Sender": {"displayName": None, "domainName": sender_domain, "emailAddress": sender},
                "p2Sender": {
                    "displayName": sender.split("@")[0].title(),
                    "domainName": sender_domain,
                    "emailAddress": sender,
                },
            }
        )
        recipient = self.users[index % len(self.users)].upn
        tail = _fragment(
            {
                "recipientEmailAddress": recipient,
                "senderIp": self.ip_addresses[index % len(self.ip_addresses)],
                "subject": subject,
                "threatDetectionMethods": [
                    rng.choice(("URL detonation reputation", "File detonation", "Spoof DMARC"))
                ],
                "threats": [rng.choice(("Phish", "Malware", "Spam"))],
                "urlCount": 1,
                "urls": [url],
                "urn": f"urn:MailEntity:{_hex(rng, 32)}",
            }
        )
        return head, tail

    @staticmethod
    def _resource(rng: random.Random, customer: Customer, netbios: str) -> bytes:
        subscription = stable_uuid(0, customer.tenant_id, "subscription")
        group = rng.choice(("rg-prod-web", "rg-shared-services", "rg-data", "rg-legacy-apps"))
        kind, provider = rng.choice(
            (
                ("Virtual Machine", "Microsoft.Compute/virtualMachines"),
                ("Storage Account", "Microsoft.Storage/storageAccounts"),
                ("Key Vault", "Microsoft.KeyVault/vaults"),
            )
        )
        name = f"{netbios[:8].lower()}{rng.choice(('web', 'app', 'data', 'kv'))}{rng.randrange(1, 20):02d}"
        return _fragment(
            {
                "resourceId": f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{provider}/{name}",
                "resourceName": name,
                "resourceType": kind,
            }
        )

    @staticmethod
    def _group(rng: random.Random, customer: Customer, name: str) -> bytes:
        domain_dn = ",".join(f"DC={part}" for part in f"corp.{customer.custom_domain}".split("."))
        rid = 512 if name == "Domain Admins" else 519
        return _fragment(
            {
                "activeDirectoryObjectGuid": _uuid(rng),
                "displayName": name,
                "distinguishedName": f"CN={name},CN=Users,{domain_dn}",
                "friendlyName": name,
                "securityGroupId": _uuid(rng),
                "sid": f"S-1-5-21-{rng.randrange(10**9)}-{rng.randrange(10**9)}-{rng.randrange(10**9)}-{rid}",
            }
        )


_WORLDS: OrderedDict[tuple[str, object], World] = OrderedDict()
_WORLD_CACHE_SIZE = 256  # about 150 KB each


def world_for(customer: Customer) -> World:
    """The tenant's World, from a bounded LRU (a few tens of KB each)."""
    key = (customer.tenant_id, customer.anchor)
    found = _WORLDS.get(key)
    if found is None:
        found = _WORLDS[key] = World(customer)
        if len(_WORLDS) > _WORLD_CACHE_SIZE:
            _WORLDS.popitem(last=False)
    else:
        _WORLDS.move_to_end(key)
    return found


@dataclass(slots=True)
class Scene:
    """What one alert is about: indexes into its tenant's World and the per-alert values."""

    world: World
    created_us: int
    created: bytes  # the alert's createdDateTime, JSON-quoted
    rng: random.Random
    remediated: bool
    verdict: str
    user: int
    device: int
    file: int
    ip: int
    url: int
    message: int


def make_scene(world: World, created_us: int, rng: random.Random, remediated: bool) -> Scene:
    """Draw the entities of one alert (a fixed number of draws, so callers' later draws are stable)."""
    return Scene(
        world=world,
        created_us=created_us,
        created=b'"' + iso7(created_us).encode() + b'"',
        rng=rng,
        remediated=remediated,
        verdict=pick(rng, ("malicious", "malicious", "suspicious", "unknown")),
        user=index_in(rng, world.users),
        device=index_in(rng, world.devices),
        file=index_in(rng, world.file_details),
        ip=index_in(rng, world.ips),
        url=index_in(rng, world.urls),
        message=index_in(rng, world.messages),
    )


_ROLES = {
    (): b"[]",
    ("compromised",): b'["compromised"]',
    ("attacker",): b'["attacker"]',
    ("source",): b'["source"]',
    ("destination",): b'["destination"]',
    ("edited",): b'["edited"]',
    ("contextual",): b'["contextual"]',
}


def _open(kind: str, scene: Scene, verdict: str, remediation: str, include_unknown: bool) -> bytes:
    status = render(remediation, EVOLVABLE_REMEDIATION_STATUSES, include_unknown)
    return (
        b'{"@odata.type":"#microsoft.graph.security.'
        + kind.encode()
        + b'","createdDateTime":'
        + scene.created
        + b',"verdict":"'
        + verdict.encode()
        + b'","remediationStatus":"'
        + status.encode()
        + b'","remediationStatusDetails":null,'
    )


def _close(roles: tuple[str, ...], detailed: bytes = b"[]") -> bytes:
    return b',"roles":' + _ROLES[roles] + b',"detailedRoles":' + detailed + b',"tags":[]}'


def _endpoint_remediation(scene: Scene) -> str:
    if scene.remediated:
        return pick(scene.rng, ("remediated", "prevented", "blocked"))
    # Live MDE evidence also reports states added after unknownFutureValue (evolvable members).
    return scene.rng.choices(
        ("none", "active", "unremediated", "pendingApproval", "remediated", "partiallyRemediated"),
        (0.55, 0.12, 0.1, 0.06, 0.12, 0.05),
    )[0]


def _device(scene: Scene, include_unknown: bool) -> bytes:
    roles = ("compromised",) if scene.verdict == "malicious" else ()
    body = scene.world.devices[scene.device]
    return (
        _open("deviceEvidence", scene, "unknown", "none", include_unknown)
        + body
        + _close(roles, b'["Main device"]')
    )


def _file(scene: Scene, include_unknown: bool) -> bytes:
    world = scene.world
    status = "prevented" if scene.remediated else pick(scene.rng, ("detected", "blocked"))
    return (
        _open("fileEvidence", scene, scene.verdict, _endpoint_remediation(scene), include_unknown)
        + b'"detectionStatus":"'
        + status.encode()
        + b'","mdeDeviceId":"'
        + world.device_ids[scene.device].encode()
        + b'","fileDetails":'
        + world.file_details[scene.file]
        + _close((), b'["Referred in command line"]')
    )


def _process(scene: Scene, include_unknown: bool) -> bytes:
    world, rng = scene.world, scene.rng
    start = scene.created_us - between(rng, 1, 600) * MINUTE - between(rng, 0, 60_000_000)
    parent_start = start - between(rng, 1, 48) * HOUR
    return (
        _open("processEvidence", scene, scene.verdict, _endpoint_remediation(scene), include_unknown)
        + f'"processId":{between(rng, 1000, 30000)},"parentProcessId":{between(rng, 300, 12000)},'.encode()
        + b'"processCommandLine":'
        + world.command_lines[scene.file]
        + f',"processCreationDateTime":"{iso7(start)}","parentProcessCreationDateTime":"{iso7(parent_start)}",'.encode()
        + b'"detectionStatus":"detected","mdeDeviceId":"'
        + world.device_ids[scene.device].encode()
        + b'","imageFile":'
        + world.file_details[scene.file]
        + b',"parentProcessImageFile":'
        + world.parents[index_in(rng, world.parents)]
        + b',"userAccount":'
        + world.user_accounts[scene.user]
        + _close(())
    )


def _registry_key(scene: Scene, include_unknown: bool) -> bytes:
    key = pick(
        scene.rng,
        (
            "SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run",
            "SYSTEM\\\\CurrentControlSet\\\\Services\\\\WinDefend",
            "SOFTWARE\\\\Microsoft\\\\Windows NT\\\\CurrentVersion\\\\Schedule\\\\TaskCache\\\\Tree",
        ),
    )
    return (
        _open("registryKeyEvidence", scene, "unknown", "none", include_unknown)
        + f'"registryKey":"{key}","registryHive":"HKEY_LOCAL_MACHINE"'.encode()
        + _close(())
    )


def _registry_value(scene: Scene, include_unknown: bool) -> bytes:
    name = pick(scene.rng, ("DisableAntiSpyware", "DisableRealtimeMonitoring"))
    return (
        _open("registryValueEvidence", scene, scene.verdict, "none", include_unknown)
        + b'"mdeDeviceId":"'
        + scene.world.device_ids[scene.device].encode()
        + b'","registryHive":"HKEY_LOCAL_MACHINE",'
        + b'"registryKey":"SOFTWARE\\\\Policies\\\\Microsoft\\\\Windows Defender",'
        + f'"registryValue":"01000000","registryValueName":"{name}","registryValueType":"Dword"'.encode()
        + _close(("edited",))
    )


def _user(scene: Scene, include_unknown: bool) -> bytes:
    malicious = scene.verdict == "malicious"
    roles = ("compromised",) if malicious and scene.rng.random() < 0.5 else ()
    return (
        _open("userEvidence", scene, "suspicious" if malicious else "unknown", "none", include_unknown)
        + b'"userAccount":'
        + scene.world.user_accounts[scene.user]
        + b',"stream":null'
        + _close(roles)
    )


def _ip(scene: Scene, include_unknown: bool) -> bytes:
    roles = ("attacker",) if scene.rng.random() < 0.5 else ("source",)
    verdict = "suspicious" if scene.verdict != "unknown" else "unknown"
    body = scene.world.ips[scene.ip]
    scene.ip = (scene.ip + 1) % len(scene.world.ips)  # a second IP in the same alert is a different one
    return _open("ipEvidence", scene, verdict, "none", include_unknown) + body + _close(roles)


def _url(scene: Scene, include_unknown: bool) -> bytes:
    return (
        _open("urlEvidence", scene, scene.verdict, "blocked" if scene.remediated else "none", include_unknown)
        + b'"url":'
        + orjson.dumps(scene.world.urls[scene.url])
        + _close(())
    )


def _mailbox(scene: Scene, include_unknown: bool) -> bytes:
    return (
        _open("mailboxEvidence", scene, "unknown", "none", include_unknown)
        + scene.world.mailboxes[scene.user]
        + _close(("destination",))
    )


def _analyzed_message(scene: Scene, include_unknown: bool) -> bytes:
    head, tail = scene.world.messages[scene.message]
    received = scene.created_us - between(scene.rng, 2, 240) * MINUTE - between(scene.rng, 0, 60_000_000)
    remediation = "remediated" if scene.remediated else pick(scene.rng, ("none", "notFound"))
    return (
        _open("analyzedMessageEvidence", scene, scene.verdict, remediation, include_unknown)
        + head
        + f',"receivedDateTime":"{iso7(received)}",'.encode()
        + tail
        + _close(())
    )


_CLOUD_APP_FRAGMENTS = tuple(
    _fragment(
        {
            "appId": app_id,
            "displayName": name,
            "instanceId": 0,
            "instanceName": name,
            "saasAppId": app_id,
            "stream": None,
        }
    )
    for app_id, name in _CLOUD_APPS
)


def _cloud_application(scene: Scene, include_unknown: bool) -> bytes:
    body = _CLOUD_APP_FRAGMENTS[index_in(scene.rng, _CLOUD_APP_FRAGMENTS)]
    return _open("cloudApplicationEvidence", scene, "unknown", "none", include_unknown) + body + _close(())


def _oauth_application(scene: Scene, include_unknown: bool) -> bytes:
    body = scene.world.oauth_apps[index_in(scene.rng, scene.world.oauth_apps)]
    return (
        _open("oauthApplicationEvidence", scene, scene.verdict, "none", include_unknown) + body + _close(())
    )


def _azure_resource(scene: Scene, include_unknown: bool) -> bytes:
    body = scene.world.resources[index_in(scene.rng, scene.world.resources)]
    roles = ("compromised",) if scene.verdict == "malicious" else ()
    return _open("azureResourceEvidence", scene, "unknown", "none", include_unknown) + body + _close(roles)


def _security_group(scene: Scene, include_unknown: bool) -> bytes:
    body = scene.world.groups[index_in(scene.rng, scene.world.groups)]
    return (
        _open("securityGroupEvidence", scene, "unknown", "none", include_unknown)
        + body
        + _close(("contextual",))
    )


BUILDERS = {
    "device": _device,
    "file": _file,
    "process": _process,
    "registryKey": _registry_key,
    "registryValue": _registry_value,
    "user": _user,
    "ip": _ip,
    "url": _url,
    "mailbox": _mailbox,
    "analyzedMessage": _analyzed_message,
    "cloudApplication": _cloud_application,
    "oauthApplication": _oauth_application,
    "azureResource": _azure_resource,
    "securityGroup": _security_group,
}


def evidence_json(kinds: tuple[str, ...], scene: Scene, include_unknown: bool) -> bytes:
    """The `evidence` JSON array for an alert's evidence kinds, in order."""
    return b"[" + b",".join(BUILDERS[kind](scene, include_unknown) for kind in kinds) + b"]"
