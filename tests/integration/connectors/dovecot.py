"""A real Dovecot IMAP server for tests: config in a temp dir, plain auth on 127.0.0.1, a free
port, one passwd-file user, Maildir storage. Installs the Debian package when missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from ticketstream.devstack.install import ensure_apt_packages
from ticketstream.devstack.procs import free_port

CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_login_user = {login_user}
default_internal_group = {group}
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self, root: Path, user: str = "support", password: str = "s3cret") -> None:
        ensure_apt_packages(["dovecot-imapd"])
        self.root, self.user, self.password = root, user, password
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        r = self.root
        for d in ("run", "state", "mail", "home"):
            (r / d).mkdir(parents=True, exist_ok=True)
        (r / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        uid, gid = os.getuid(), os.getgid()
        root_user = uid == 0
        if root_user:  # Dovecot refuses to access mail as uid 0: use its own system user
            import pwd

            entry = pwd.getpwnam("dovecot")
            uid, gid = entry.pw_uid, entry.pw_gid
            for d in ("mail", "home"):
                os.chown(r / d, uid, gid)
        conf = CONF.format(
            root=r,
            port=self.port,
            uid=uid,
            gid=gid,
            user="dovecot" if root_user else os.environ.get("USER", "nobody"),
            login_user="dovenull" if root_user else os.environ.get("USER", "nobody"),
            group="dovecot" if root_user else str(gid),
        )
        (r / "dovecot.conf").write_text(conf)
        for d in ("run", "state", "mail", "home"):
            os.chmod(r / d, 0o755)
        os.chmod(r, 0o755)
        self.proc = subprocess.Popen(
            [shutil.which("dovecot") or "/usr/sbin/dovecot", "-F", "-c", str(r / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"dovecot exited: {err[-800:]} {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer on {self.port}: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text()[-800:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()

    def deliver(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Append a mail with IMAP APPEND (what an MTA's delivery would leave in the box)."""
        import imaplib

        with imaplib.IMAP4("127.0.0.1", self.port) as c:
            c.login(self.user, self.password)
            c.append(mailbox, None, None, raw)
