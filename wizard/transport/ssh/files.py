"""Files: read over SFTP (root-only files through `sudo base64`), stat, and atomic writes
(temp file, owner and mode, backup, rename). A mixin of SSHTransport."""
from __future__ import annotations

import logging
import posixpath
import re
import secrets as _random
import shlex
import time
from typing import Callable

import paramiko
from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

from wizard.masking import mask
from wizard.transport.base import BACKUP_ROOT, FileStat, TransportError, WriteResult
from wizard.transport.ssh.liveness import _IO_ERRORS, _Transport

log = logging.getLogger("wizard.transport")

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$")


class _Files:
    """read_file(), stat(), write_file() (mixed into SSHTransport)."""

    def _sftp_create_private(self, sftp: paramiko.SFTPClient, path: str, data: bytes,
                             created: Callable[[], None] | None = None) -> None:
        """Create `path` exclusively with mode 0600 from the start (no window in which
        another user could open it) and write `data`; `created()` is called once the file
        exists (a failure after that leaves it behind)."""
        attrs = SFTPAttributes()
        attrs.st_mode = 0o600
        t, msg = sftp._request(CMD_OPEN, path, SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL, attrs)
        if t != CMD_HANDLE:
            raise paramiko.SFTPError("Expected handle")
        f = SFTPFile(sftp, msg.get_binary(), "wb", -1)
        if created is not None:
            created()
        with f:
            f.set_pipelined(True)
            f.write(data)

    def _upload_private(self, data: bytes, token: str) -> str:
        """Upload `data` to a private (0600) file in the login user's home; its path."""
        sftp = self._sftp_client()
        t = self._t
        path, made = None, []
        try:
            home = sftp.normalize(".")
            path = posixpath.join(home, f".chatwizard-upload-{token}")
            self._sftp_create_private(sftp, path, data, created=lambda: made.append(path))
        except _IO_ERRORS as e:
            if self._is_lost(e, t):
                raise self._lost(e, t, "uploading a temporary file") from e
            if made:
                self._remove_quietly(path)
            raise TransportError(f"{self.label}: cannot upload a temporary file to the home "
                                 f"folder of {self.user}: {e}") from e
        return path

    def _remove_quietly(self, path: str) -> None:
        """Remove a temp/upload file over the live connection (never reconnects)."""
        try:
            self._sftp_client().remove(path)
        except FileNotFoundError:
            pass
        except Exception as e:
            log.warning("%s: could not remove temporary file %s: %s", self.label, path, e)

    def read_file(self, path: str, *, sudo: bool = False) -> bytes | None:
        """The file's bytes (None when absent). Read over SFTP; when that is denied and
        sudo=True with become == "sudo", read as root via `sudo base64` (binary-safe
        through the pty). ConnectionLost when the connection breaks."""
        with self._operation(f"reading {path}") as t:
            sftp = self._sftp_client()
            try:
                with sftp.open(path, "rb") as f:
                    f.prefetch()
                    return f.read()
            except FileNotFoundError:
                return None
            except PermissionError as e:
                if not (sudo and self._needs_sudo()):
                    raise TransportError(f"{self.label}: cannot read {path}: permission denied") from e
            except _IO_ERRORS as e:
                if self._is_lost(e, t):
                    raise self._lost(e, t) from e
                raise TransportError(f"{self.label}: cannot read {path}: {e}") from e
            return self._read_via_sudo(path)

    def _read_via_sudo(self, path: str) -> bytes | None:
        import base64

        token = _random.token_hex(6)
        start, end, missing = (f"__chatwizard_{w}_{token}__" for w in ("data", "end", "missing"))
        p = shlex.quote(path)
        script = (f"if [ ! -e {p} ]; then echo {missing}; exit 0; fi; echo {start}; "
                  f"base64 < {p} || exit 1; echo {end}")
        raw = self._exec(script, sudo=True, timeout=300, display=f"sudo base64 {path}")
        lines = raw.stdout.splitlines()
        if missing in lines:
            return None
        if raw.exit_code != 0 or start not in lines or end not in lines:
            raise TransportError(mask(f"{self.label}: cannot read {path} as root: "
                                      f"{raw.stdout.strip()[-500:]}"))
        body = lines[lines.index(start) + 1:lines.index(end)]
        return base64.b64decode("".join(body))

    def stat(self, path: str) -> FileStat:
        """Type, mode and owner (following symlinks; a dangling link counts as absent).
        A path behind a folder the user cannot enter is looked at with sudo.
        ConnectionLost when the connection breaks."""
        cmd = f"LC_ALL=C stat -L -c '%U %G %a %F' -- {shlex.quote(path)}"
        with self._operation(f"looking at {path} (stat)"):
            raw = self._exec(cmd, display=f"stat {path}")
            if raw.exit_code != 0 and "Permission denied" in raw.stderr and self._needs_sudo():
                raw = self._exec(cmd, sudo=True, display=f"sudo stat {path}")
        if raw.exit_code != 0:
            text = raw.stderr or raw.stdout
            if "No such file or directory" in text or "Not a directory" in text:
                return FileStat(path=path, exists=False)
            raise TransportError(f"{self.label}: cannot stat {path}: {text.strip()}")
        line = raw.stdout.strip().splitlines()[-1]
        owner, group, mode, kind = line.split(" ", 3)
        return FileStat(path=path, exists=True, is_dir=kind == "directory", mode=int(mode, 8),
                        owner=owner, group=group)

    def write_file(self, path: str, data: bytes, *, mode: int = 0o644, owner: str | None = None,
                   group: str | None = None, backup: bool = True) -> WriteResult:
        """Atomically replace `path` (see base.Transport.write_file).

        owner/group None: an existing file keeps its owner and group, a new one is owned by
        root (or by the login user when it is neither root nor a sudo user); owner without
        group: the owner's login group. The parent folder must exist. A symlink at `path`
        is replaced by a regular file (its target is backed up)."""
        if not path.startswith("/") or path.endswith("/"):
            raise TransportError(f"{self.label}: write_file needs an absolute file path, not {path!r}")
        for what, name in (("owner", owner), ("group", group)):
            if name is not None and not _NAME_RE.match(name):
                raise TransportError(f"{self.label}: invalid {what} name {name!r}")
        folder, name = posixpath.split(path)
        token = _random.token_hex(8)
        tmp = f"{folder}/.{name}.chatwizard-tmp-{token}"
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        done_tag = f"__chatwizard_written_{token}__"
        with self._operation(f"writing {path}") as t:
            via_sudo = self._needs_sudo()
            sftp = None if via_sudo else self._sftp_client()
            upload = None
            created: list[str] = []              # the temp file, once it exists
            finished = False
            try:
                if via_sudo:
                    upload = self._upload_private(data, token)
                else:
                    try:
                        self._sftp_create_private(sftp, tmp, data, created=lambda: created.append(tmp))
                    except FileNotFoundError as e:
                        raise TransportError(f"{self.label}: cannot write {path}: folder {folder} "
                                             f"does not exist") from e
                    except _IO_ERRORS as e:
                        if self._is_lost(e, t):
                            raise self._lost(e, t) from e
                        raise TransportError(f"{self.label}: cannot write {path}: {e}") from e
                script = self._install_script(path, folder, tmp, upload, mode, owner, group, backup,
                                              stamp, done_tag)
                raw = self._exec(script, sudo=via_sudo, timeout=300, display=f"install {path}")
                out_lines = (raw.stdout + "\n" + raw.stderr).splitlines()
                if raw.exit_code != 0 or done_tag not in out_lines:
                    why = "\n".join(l for l in out_lines if l.strip() and done_tag not in l)
                    raise TransportError(mask(f"{self.label}: writing {path} failed: {why or raw.exit_code}"))
                backup_path = next((l[len("BACKUP="):] for l in out_lines if l.startswith("BACKUP=")), None)
                if not via_sudo:
                    try:
                        sftp.posix_rename(tmp, path)
                    except _IO_ERRORS as e:
                        if self._is_lost(e, t):
                            raise self._lost(e, t) from e
                        raise TransportError(f"{self.label}: cannot rename {tmp} to {path}: {e}") from e
                    created.clear()
                finished = True
                log.info("%s: wrote %s (%d bytes, mode %o%s)%s", self.label, path, len(data), mode,
                         f", owner {owner}" if owner else "", f", backup {backup_path}" if backup_path else "")
                return WriteResult(path=path, backup=backup_path)
            finally:
                if not finished:
                    self._after_failed_write(t, tmp, created, upload, via_sudo)

    @staticmethod
    def _install_script(path: str, folder: str, tmp: str, upload: str | None, mode: int,
                        owner: str | None, group: str | None, backup: bool, stamp: str,
                        done_tag: str) -> str:
        """The sh script that sets owner and mode of the temp file, backs up the old file and
        (via sudo: copies the upload to the temp file and) renames it into place."""
        q = shlex.quote
        lines = ["set -e", "umask 077", f"dst={q(path)}", f"tmp={q(tmp)}"]
        if upload is not None:
            lines += [
                f"src={q(upload)}",
                "trap 'rm -f -- \"$tmp\" \"$src\"' EXIT",
                f'[ -d {q(folder)} ] || {{ echo "folder {folder} does not exist" >&2; exit 3; }}',
                "cp -- \"$src\" \"$tmp\"",
                "rm -f -- \"$src\"",
            ]
        lines.append('if [ -d "$dst" ] && [ ! -L "$dst" ]; then echo "$dst is a folder" >&2; exit 3; fi')
        if owner is not None:
            lines.append(f"chown -- {q(owner)}:{q(group) if group else ''} \"$tmp\"")
        elif group is not None:
            lines.append(f"chgrp -- {q(group)} \"$tmp\"")
        else:
            lines.append('if [ -e "$dst" ]; then chown --reference="$dst" -- "$tmp"; fi')
        lines.append(f"chmod {mode:o} \"$tmp\"")
        if backup:
            lines += [
                'if [ -e "$dst" ]; then',
                f"  b={q(BACKUP_ROOT)}/{stamp}; n=0",
                '  while [ -e "$b$dst" ]; do n=$((n+1)); b=' + q(BACKUP_ROOT) + f'/{stamp}.$n; done',
                '  mkdir -p -- "$(dirname -- "$b$dst")"',
                '  cp -p -- "$dst" "$b$dst"',
                '  printf "BACKUP=%s\\n" "$b$dst"',
                "fi",
            ]
        if upload is not None:
            lines.append('mv -f -T -- "$tmp" "$dst"')
        lines.append(f"echo {done_tag}")
        return "\n".join(lines)

    def _after_failed_write(self, t: _Transport, tmp: str, created: list[str], upload: str | None,
                            via_sudo: bool) -> None:
        """Remove what a failed write left, over the live connection only: after a lost
        connection nothing is tried (no reconnect, no wait); the next apply's resume removes
        the temp and upload files (wizard.journal)."""
        if not self._alive(t):
            left = [p for p in (*created, upload) if p] or ([tmp] if via_sudo else [])
            if left:
                log.info("%s: connection lost; left for the next apply to remove: %s", self.label,
                         ", ".join(left))
            return
        for p in created:
            self._remove_quietly(p)
        if upload is not None:
            self._remove_quietly(upload)
        if via_sudo and self._alive(t):
            # the script's trap removes its temp file; this covers a script that was killed
            try:
                self._exec(f"rm -f -- {shlex.quote(tmp)}", sudo=True, timeout=30,
                           display=f"rm -f {tmp}")
            except Exception as e:
                log.warning("%s: could not remove temporary file %s: %s", self.label, tmp, e)
