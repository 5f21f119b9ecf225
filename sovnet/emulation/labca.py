"""The lab's certificate authority: one new CA per lab, and a certificate per server from it.

Every service presents a certificate for all its domains, issued by a CA made for this lab
alone (trustme), so nothing outside the lab trusts it and nothing of it outlives the lab. The
hosts trust it the way a managed device would: the system bundle plus the lab CA is bind-mounted
over /etc/ssl/certs/ca-certificates.crt inside each host (see Network._trust_lab_ca), which is
where curl, OpenSSL and Python's ssl module look by default on Debian and Ubuntu.
"""

from __future__ import annotations

from pathlib import Path

import trustme

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def cert_paths(workdir: Path, name: str) -> tuple[Path, Path]:
    """(certificate chain, private key) of server `name`; pure, so specs can name them."""
    return Path(workdir) / f"{name}.cert.pem", Path(workdir) / f"{name}.key.pem"


class LabCA:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self._ca = trustme.CA(organization_name="sovnet lab CA")
        self.ca_file = self.workdir / "lab-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))

    def issue(self, name: str, domains: list[str]) -> tuple[Path, Path]:
        """Write a certificate for `domains` (the first is its common name) and its key."""
        cert, key = cert_paths(self.workdir, name)
        leaf = self._ca.issue_cert(*domains, common_name=domains[0])
        leaf.private_key_pem.write_to_path(str(key))
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        return cert, key

    def bundle(self, system: Path = SYSTEM_BUNDLE) -> Path:
        """The system's trusted CAs plus this lab's, written next to the certificates."""
        path = self.workdir / "ca-bundle.crt"
        system_pem = system.read_bytes() if system.exists() else b""
        path.write_bytes(system_pem.rstrip(b"\n") + b"\n" + self.ca_file.read_bytes())
        return path
