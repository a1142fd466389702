#!/bin/bash
# updatesc.sh - update the ClientMessenger (CHAT role) from the portal's install folder.
# Written by the chat-role wizard (procedure section 5; body as on the French page:
# the English page's chown line is garbled).
#
# Stops the service, copies bin/* and public/, gives everything back to jtel:jtel,
# starts the service.  Any failed copy aborts (set -e) and leaves the service stopped,
# so a half-updated daemon is never started silently.
set -e

SERVICE=jtel-clientmessenger
SRC=/home/jtel/shared/JTELCarrierPortal/Utils/Install/ClientMessenger
TARGET=/home/jtel/ClientMessenger
OWNER=jtel:jtel

# a service that is not running may answer "stop" with a failure: that must not block the update
service "$SERVICE" stop || echo "updatesc.sh: 'service $SERVICE stop' failed (not running?), continuing" >&2
cp "$SRC"/bin/* "$TARGET"/bin
cp -r "$SRC"/public "$TARGET"/
chown -R "$OWNER" "$TARGET"
service "$SERVICE" start
