"""The sh scripts that put a written file in place as root, race-free (pure functions).

Another account (`jtel`) may own the target's folder and swap names in it at any moment, so
root never touches a name in that folder except with operations that do not follow a
symlink there (mkdir, rename, rm):

1. a private folder `<folder>/.<name>.chatwizard-tmp-<token>` is made, mode 0700, owned by
   the writing user (root); nobody else can add, rename or replace anything in it;
2. the script enters it (`cd -P`) and checks that where it stands is that folder (owner,
   mode 0700, a folder; for the rename step also its device and inode), so a name swapped
   for a link to somewhere else is refused;
3. the data file inside it (`./data`) gets its owner (`chown -h`) and mode: it cannot have
   been swapped for a link, the folder is private;
4. a target that is a symbolic link is refused (message names it and where it points); an
   existing target is copied to the backup folder (`cp -pP`: a link is copied as a link);
5. `mv -T ./data <target>` renames it in (atomic; a link at the target is replaced, never
   followed), and the private folder is removed.

Every value is assigned to a shell variable once, quoted by wizard.shell; the rest of
the script uses only "$variables" (nothing from a path or a name is ever parsed as shell).
"""
from __future__ import annotations

import posixpath

from wizard.shell import assign, quote
from wizard.transport.base import BACKUP_ROOT

DATA = "data"           # the file's name inside the private folder
TEMP_INFIX = ".chatwizard-tmp-"


def temp_dir(path: str, token: str) -> str:
    """The private folder beside `path` for one write (matches journal.leftover_globs)."""
    folder, name = posixpath.split(path)
    return f"{folder}/.{name}{TEMP_INFIX}{token}"


_ENTER = ('cd -P -- "$dir" 2>/dev/null || fail "the temporary folder $dir was changed by another '
          'user while writing $dst: nothing was written"')
_CHECK_DIR = ('[ "$(LC_ALL=C stat -c \'%u %a %F\' .)" = "$(id -u) 700 directory" ] || '
              'fail "the temporary folder $dir was changed by another user while writing $dst: '
              'nothing was written"')
_CHECK_DATA = ('{ [ -f ./data ] && [ ! -L ./data ]; } || '
               'fail "the temporary file $dir/data was changed while writing $dst: nothing was written"')


def _head(values: dict[str, str]) -> list[str]:
    return (["set -e", "umask 077", "LC_ALL=C", "export LC_ALL"]
            + [assign(k, v) for k, v in values.items()]
            + ['fail() { printf \'%s\\n\' "$*" >&2; exit 3; }'])


def prepare_script(path: str, tmpdir: str, *, mode: int, owner: str | None, group: str | None,
                   backup: bool, stamp: str, done_tag: str, upload: str | None = None,
                   rename: bool = False) -> str:
    """Steps 1-4 (with upload: make the private folder and copy the upload into it; without:
    it was made and filled over SFTP), then 5 when `rename`; prints BACKUP=<folder> for a
    backup (the copy is <folder><path>), DIRID=<dev>:<inode> of the private folder when not renaming (rename_script
    checks it), and done_tag at the end."""
    folder = posixpath.dirname(path) or "/"
    values = {"dst": path, "dir": tmpdir, "folder": folder, "bk": BACKUP_ROOT, "stamp": stamp}
    if upload is not None:
        values["src"] = upload
    lines = _head(values)
    if upload is not None:
        lines += [
            "trap 'rm -f -- \"$src\"' EXIT",
            '[ -d "$folder" ] || fail "folder $folder does not exist"',
            'mkdir -- "$dir"',                       # 0700 by the umask, at once
        ]
    lines += [_ENTER, _CHECK_DIR]
    if upload is not None:
        lines += ['cp -- "$src" ./data', 'rm -f -- "$src"']
    lines += [
        _CHECK_DATA,
        'if [ -L "$dst" ]; then fail "$dst is a symbolic link (to $(readlink -- "$dst")): refusing '
        'to write through it; replace the link with a regular file first"; fi',
        'if [ -d "$dst" ]; then fail "$dst is a folder"; fi',
    ]
    if owner is not None:
        who = f"{owner}:{group or ''}"
        lines.append(f"chown -h -- {quote(who)} ./data")
    elif group is not None:
        lines.append(f"chgrp -h -- {quote(group)} ./data")
    else:
        lines.append('if [ -e "$dst" ]; then chown -h --reference="$dst" -- ./data; fi')
    lines.append(f"chmod {mode:o} ./data")
    if backup:
        lines += [
            'if [ -e "$dst" ]; then',
            '  b="$bk/$stamp"; n=0',
            '  while [ -e "$b$dst" ] || [ -L "$b$dst" ]; do n=$((n+1)); b="$bk/$stamp.$n"; done',
            '  mkdir -p -- "$(dirname -- "$b$dst")"',
            '  cp -pP -- "$dst" "$b$dst"',
            '  printf "BACKUP=%s\\n" "$b"',                 # + the path (it may hold a newline)
            "fi",
        ]
    if rename:
        lines += _rename_tail()
    else:
        lines.append("stat -c 'DIRID=%d:%i' .")
    lines.append(f"echo {quote(done_tag)}")
    return "\n".join(lines)


def rename_script(path: str, tmpdir: str, dir_id: str, done_tag: str) -> str:
    """Step 5 on its own (the root login's second command): only into the private folder
    the prepare script checked (same device and inode)."""
    lines = _head({"dst": path, "dir": tmpdir, "id": dir_id})
    lines += [
        _ENTER,
        '[ "$(stat -c \'%d:%i\' .)" = "$id" ] || fail "the temporary folder $dir was replaced by '
        'another user while writing $dst: nothing was written"',
        _CHECK_DIR,
        _CHECK_DATA,
        *_rename_tail(),
        f"echo {quote(done_tag)}",
    ]
    return "\n".join(lines)


def _rename_tail() -> list[str]:
    return ['mv -f -T -- ./data "$dst"', 'cd /', 'rmdir -- "$dir" 2>/dev/null || true']
