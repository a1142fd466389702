"""Files: read over SFTP (root-only files through `sudo base64`), stat, and atomic writes
(temp file, owner and mode, backup, rename). A mixin of SSHTransport."""
from __future__ import annotations

import logging
import posixpath
import re
import secrets as _random
import time
from typing import Callable

import paramiko
from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE
from paramiko.sftp_attr import SFTPAttributes
from paramiko.sftp_file import SFTPFile

from wizard.i18n import _
from wizard.masking import mask
from wizard.shell import cmd, quote
from wizard.transport.base import FileStat, TransportError, WriteResult
from wizard.transport.ssh import install
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
                raise self._lost(e, t, _("uploading a temporary file")) from e
            if made:
                self._remove_quietly(path)
            raise TransportError(_("{host}: cannot upload a temporary file to the home folder of "
                                   "{user}: {reason}").format(host=self.label, user=self.user,
                                                              reason=e)) from e
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
        self.round_trips = getattr(self, "round_trips", 0) + 1
        with self._operation(_("reading {path}").format(path=path)) as t:
            sftp = self._sftp_client()
            try:
                with sftp.open(path, "rb") as f:
                    f.prefetch()
                    return f.read()
            except FileNotFoundError:
                return None
            except PermissionError as e:
                if not (sudo and self._needs_sudo()):
                    raise TransportError(_("{host}: cannot read {path}: permission denied").format(
                        host=self.label, path=path)) from e
            except _IO_ERRORS as e:
                if self._is_lost(e, t):
                    raise self._lost(e, t) from e
                raise TransportError(_("{host}: cannot read {path}: {reason}").format(
                    host=self.label, path=path, reason=e)) from e
            return self._read_via_sudo(path)

    def _read_via_sudo(self, path: str) -> bytes | None:
        import base64

        token = _random.token_hex(6)
        start, end, missing = (f"__chatwizard_{w}_{token}__" for w in ("data", "end", "missing"))
        p = quote(path)
        script = (f"if [ ! -e {p} ]; then echo {missing}; exit 0; fi; echo {start}; "
                  f"base64 < {p} || exit 1; echo {end}")
        raw = self._exec(script, sudo=True, timeout=300, display=f"sudo base64 {path}", keep=None)
        lines = raw.stdout.splitlines()
        if missing in lines:
            return None
        if raw.exit_code != 0 or start not in lines or end not in lines:
            raise TransportError(mask(_("{host}: cannot read {path} as root: {reason}").format(
                host=self.label, path=path, reason=raw.stdout.strip()[-500:])))
        body = lines[lines.index(start) + 1:lines.index(end)]
        return base64.b64decode("".join(body))

    def stat(self, path: str) -> FileStat:
        """Type, mode and owner (following symlinks; a dangling link counts as absent).
        A path behind a folder the user cannot enter is looked at with sudo.
        ConnectionLost when the connection breaks."""
        command = f"LC_ALL=C stat -L -c '%U %G %a %F' -- {quote(path)}"
        with self._operation(_("looking at {path} (stat)").format(path=path)):
            raw = self._exec(command, display=f"stat {path}")
            if raw.exit_code != 0 and "Permission denied" in raw.stderr and self._needs_sudo():
                raw = self._exec(command, sudo=True, display=f"sudo stat {path}")
        if raw.exit_code != 0:
            text = raw.stderr or raw.stdout
            if "No such file or directory" in text or "Not a directory" in text:
                return FileStat(path=path, exists=False)
            raise TransportError(_("{host}: cannot stat {path}: {reason}").format(
                host=self.label, path=path, reason=text.strip()))
        lines = raw.stdout.strip().splitlines()
        parts = lines[-1].split(" ", 3) if lines else []
        if len(parts) != 4 or not re.fullmatch(r"[0-7]{1,4}", parts[2]):
            raise TransportError(mask(_("{host}: cannot stat {path}: unexpected answer from `stat` "
                                        "on the host: {answer}").format(
                host=self.label, path=path, answer=repr((lines[-1] if lines else "(nothing)")[:200]))))
        owner, group, mode, kind = parts
        return FileStat(path=path, exists=True, is_dir=kind == "directory", mode=int(mode, 8),
                        owner=owner, group=group)

    def write_file(self, path: str, data: bytes, *, mode: int = 0o644, owner: str | None = None,
                   group: str | None = None, backup: bool = True) -> WriteResult:
        """Atomically replace `path` (see base.Transport.write_file), race-free against other
        users of the folder (install.py): the data goes into a private 0700 folder beside the
        target, gets its owner and mode there, and is renamed in.

        owner/group None: an existing file keeps its owner and group, a new one is owned by
        root (or by the login user when it is neither root nor a sudo user); owner without
        group: the owner's login group. The parent folder must exist. A target that is a
        symbolic link is refused (TransportError naming it), so is a folder."""
        if not path.startswith("/") or path.endswith("/") or "\0" in path:
            raise TransportError(f"{self.label}: write_file needs an absolute file path, not {path!r}")
        for what, name in (("owner", owner), ("group", group)):
            if name is not None and not _NAME_RE.match(name):
                raise TransportError(f"{self.label}: invalid {what} name {name!r}")
        token = _random.token_hex(8)
        tmpdir = install.temp_dir(path, token)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        done_tag = f"__chatwizard_written_{token}__"
        with self._operation(_("writing {path}").format(path=path)) as t:
            via_sudo = self._needs_sudo()
            upload = None
            made: list[str] = []                 # the private folder, once it exists
            finished = False
            try:
                if via_sudo:
                    upload = self._upload_private(data, token)
                    made.append(tmpdir)          # the script makes it
                else:
                    self._make_private_dir(path, tmpdir, made)
                    self._create_data(path, f"{tmpdir}/{install.DATA}", data)
                script = install.prepare_script(path, tmpdir, mode=mode, owner=owner, group=group,
                                                backup=backup, stamp=stamp, done_tag=done_tag,
                                                upload=upload, rename=via_sudo)
                out = self._install_step(path, script, via_sudo, done_tag, f"install {path}")
                backup_path = next((l[len("BACKUP="):] + path for l in out if l.startswith("BACKUP=")), None)
                if not via_sudo:
                    dir_id = next((l[len("DIRID="):] for l in out if l.startswith("DIRID=")), "")
                    self._rename_into_place(path, tmpdir, dir_id, done_tag)
                finished = True
                log.info("%s: wrote %s (%d bytes, mode %o%s)%s", self.label, path, len(data), mode,
                         f", owner {owner}" if owner else "", f", backup {backup_path}" if backup_path else "")
                return WriteResult(path=path, backup=backup_path)
            finally:
                if not finished:
                    self._after_failed_write(t, tmpdir, made, upload, via_sudo)

    def _make_private_dir(self, path: str, tmpdir: str, made: list[str]) -> None:
        """The private folder over SFTP (mkdir does not follow a link; mode 0700). SFTP says
        only "Failure" for most errors (a read-only file system...): then `mkdir` in the
        shell makes it or says why."""
        t, sftp = self._t, self._sftp_client()
        folder = posixpath.dirname(path)
        try:
            sftp.mkdir(tmpdir, 0o700)
            made.append(tmpdir)
            return
        except FileNotFoundError as e:
            raise TransportError(_("{host}: cannot write {path}: folder {folder} does not exist")
                                 .format(host=self.label, path=path, folder=folder)) from e
        except PermissionError as e:
            raise TransportError(_("{host}: cannot write {path}: permission denied in {folder}")
                                 .format(host=self.label, path=path, folder=folder)) from e
        except _IO_ERRORS as e:
            if self._is_lost(e, t):
                raise self._lost(e, t) from e
            sftp_error = e
        raw = self._exec(f"umask 077 && {cmd('mkdir', '--', tmpdir)}", display=f"mkdir {tmpdir}")
        if raw.exit_code != 0:
            why = _last_words(raw.stderr or raw.stdout) or str(sftp_error)
            raise TransportError(mask(_("{host}: cannot write {path}: {reason}").format(
                host=self.label, path=path, reason=why)))
        made.append(tmpdir)

    def _create_data(self, path: str, target: str, data: bytes) -> None:
        t, sftp = self._t, self._sftp_client()
        try:
            self._sftp_create_private(sftp, target, data)
        except _IO_ERRORS as e:
            if self._is_lost(e, t):
                raise self._lost(e, t) from e
            raise TransportError(_("{host}: cannot write {path}: {reason}").format(
                host=self.label, path=path, reason=e)) from e

    def _install_step(self, path: str, script: str, sudo: bool, done_tag: str,
                      display: str) -> list[str]:
        """Run an install script; its output lines, or TransportError with its message."""
        raw = self._exec(script, sudo=sudo, timeout=300, display=display)
        out_lines = (raw.stdout + "\n" + raw.stderr).splitlines()
        if raw.exit_code != 0 or done_tag not in out_lines:
            why = "\n".join(l for l in out_lines if l.strip() and done_tag not in l)
            raise TransportError(mask(_("{host}: writing {path} failed: {reason}").format(
                host=self.label, path=path, reason=why or raw.exit_code)))
        return out_lines

    def _rename_into_place(self, path: str, tmpdir: str, dir_id: str, done_tag: str) -> None:
        """The root login's last step: rename the prepared file in (install.rename_script)."""
        self._install_step(path, install.rename_script(path, tmpdir, dir_id, done_tag), False,
                           done_tag, f"rename {path}")

    def _after_failed_write(self, t: _Transport, tmpdir: str, made: list[str], upload: str | None,
                            via_sudo: bool) -> None:
        """Remove what a failed write left, over the live connection only: after a lost
        connection nothing is tried (no reconnect, no wait); the next apply's resume removes
        the private folder and the upload file (wizard.journal)."""
        if not self._alive(t):
            left = [p for p in (*made, upload) if p]
            if left:
                log.info("%s: connection lost; left for the next apply to remove: %s", self.label,
                         ", ".join(left))
            return
        if upload is not None:
            self._remove_quietly(upload)
        if made and self._alive(t):
            # rm does not follow a link put in its place; -r: the folder and its data file
            try:
                self._exec(cmd("rm", "-rf", "--", tmpdir), sudo=via_sudo, timeout=30,
                           display=f"rm -rf {tmpdir}")
            except Exception as e:
                log.warning("%s: could not remove temporary folder %s: %s", self.label, tmpdir, e)


def _last_words(text: str) -> str:
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else ""
