#!/usr/bin/python3 -IS
"""thinit - pid 1 of a test host (exec'd by inner.sh after pivot_root).

Starts the real sshd (`sshd -D -e`, its log goes to console.log), reaps every
orphan of the pid namespace, and lets the machine side kill and restart sshd
without taking the host down (fault tests):

    SIGUSR1   start sshd again if it is not running
    SIGUSR2   stop the sshd listener (SIGTERM); open sessions keep running
    SIGTERM   stop everything and exit (the namespace then dies)

The listener's pid is kept in /run/testhost-sshd.pid. SIGKILL from the machine
(down.sh) ends the whole namespace at once, as before.
"""
import os
import signal
import sys

SSHD = ["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config"]
PIDFILE = "/run/testhost-sshd.pid"
sshd_pid = None


def log(msg):
    sys.stderr.write("thinit: %s\n" % msg)
    sys.stderr.flush()


def start_sshd():
    global sshd_pid
    if sshd_pid is not None:
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGCHLD):
                signal.signal(s, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.execv(SSHD[0], SSHD)
        finally:
            os._exit(127)
    sshd_pid = pid
    with open(PIDFILE, "w") as f:
        f.write("%d\n" % pid)
    log("sshd started, pid %d" % pid)


def reap():
    """Reap every exited child (sshd and adopted orphans)."""
    global sshd_pid
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid == sshd_pid:
            log("sshd (pid %d) exited, status %d" % (pid, status))
            sshd_pid = None
            try:
                os.unlink(PIDFILE)
            except FileNotFoundError:
                pass


def main():
    sigs = [signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGCHLD]
    for s in sigs:   # a handler, so pid 1 is sent these at all; they stay blocked
        signal.signal(s, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    start_sshd()
    while True:
        reap()
        info = signal.sigtimedwait(sigs, 5.0)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_signo == signal.SIGUSR1:
            # SIGUSR1 (10) is taken before a pending SIGCHLD (17): reap first, or a restart
            # right after a kill would see the dead sshd as running and do nothing
            reap()
            start_sshd()
        elif info.si_signo == signal.SIGUSR2:
            if sshd_pid is not None:
                try:
                    os.kill(sshd_pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        elif info.si_signo == signal.SIGTERM:
            log("SIGTERM: stopping everything")
            os.kill(-1, signal.SIGKILL)   # every other process of the namespace
            sys.exit(0)


if __name__ == "__main__":
    main()
