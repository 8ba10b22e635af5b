"""A scripted stand-in for the person at the browser, for the demo and tests against the emulator.

It does what a browser does with the emulator's sign-in pages and nothing more: follows redirects and
submits the self-posting form Entra uses for `response_mode=form_post`. The emulator signs its configured
partner admin in without a password prompt, so no credentials are involved.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _AutoPostForm(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "GET"
        self.fields: dict[str, str] = {}
        self.auto_submit = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "body" and "submit()" in values.get("onload", ""):
            self.auto_submit = True
        elif tag == "form" and self.action is None:
            self.action = values.get("action")
            self.method = values.get("method", "GET").upper()
        elif tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


def trusting_session(ca_bundle: str) -> requests.Session:
    """A session that trusts the emulator's CA and nothing from the environment (REQUESTS_CA_BUNDLE, proxies)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle
    return session


class ScriptedBrowser:
    """Opens a URL like a browser would, with a session that trusts the emulator's CA."""

    def __init__(self, session: requests.Session, timeout: float = 30.0) -> None:
        self._session = session
        self._timeout = timeout

    def open(self, url: str) -> requests.Response:
        response = self._session.get(url, allow_redirects=True, timeout=self._timeout)
        form = _AutoPostForm()
        form.feed(response.text if "html" in response.headers.get("content-type", "") else "")
        if form.auto_submit and form.action:
            target = urljoin(response.url, form.action)
            response = self._session.request(form.method, target, data=form.fields, timeout=self._timeout)
        return response

    __call__ = open
