# A real sshd on 127.0.0.1 for the runner tests, with keys made here
# (Debian's openssh-server). Source it after setting $tmp; it sets $port and
# $sshd_pid and exports $SHUFFLEC_SSH / $SHUFFLEC_SCP for the client side.
mkdir -p "$tmp/ssh" /run/sshd 2>/dev/null || true
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/ssh/client_key"
cp "$tmp/ssh/client_key.pub" "$tmp/ssh/authorized_keys"
port=$((20000 + $$ % 20000))
cat > "$tmp/ssh/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $tmp/ssh/host_key
AuthorizedKeysFile $tmp/ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $tmp/ssh/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
cat > "$tmp/ssh/client_config" <<CONF
Host 127.0.0.1
  IdentityFile $tmp/ssh/client_key
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
CONF
/usr/sbin/sshd -D -f "$tmp/ssh/sshd_config" -E "$tmp/ssh/sshd.log" &
sshd_pid=$!
for _ in $(seq 50); do ssh -F "$tmp/ssh/client_config" -o BatchMode=yes -p "$port" "$(id -un)@127.0.0.1" true 2>/dev/null && break; sleep 0.1; done
export SHUFFLEC_SSH="ssh -F $tmp/ssh/client_config -o BatchMode=yes"
export SHUFFLEC_SCP="scp -F $tmp/ssh/client_config -q"
