#!/usr/bin/env bash
# Installs, upgrades or removes Gauntlet on a Debian/Ubuntu box.
#
#   sudo ./install.sh --domain hunt.example.org   # public box, automatic HTTPS
#   sudo ./install.sh --lan                       # LAN/offline box, Caddy's local CA
#   sudo ./install.sh                             # re-run: upgrade (backup first; a running
#                                                 # server is handed over without dropping a request)
#   sudo ./install.sh --uninstall [--purge]       # remove; data kept unless --purge
#
# Nothing is downloaded except Debian packages (caddy, bubblewrap): the binary
# comes from --binary PATH or dist/gauntlet beside this script, so an offline
# box with a local apt mirror works.
#
# DESTDIR=/some/dir or --no-systemd install into a folder without touching the
# host: no apt-get, no useradd, no chown, no systemctl (what the tests use).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DESTDIR="${DESTDIR:-}"

# Filled by parse_args.
MODE="install"
DOMAIN=""
LAN=0
BINARY=""
NO_SYSTEMD=0
RUNNER=0
PURGE=0
ADMIN_USER="admin"

SERVICE_USER=gauntlet
CADDY_MARKER="# Gauntlet behind Caddy"

usage() {
  cat <<'EOF'
usage: install.sh [--domain DOMAIN | --lan] [--runner] [--binary PATH] [--admin-user NAME] [--no-systemd]
       install.sh --uninstall [--purge] [--no-systemd]

Installs Gauntlet as a systemd service behind Caddy (Debian's package).
First run installs; running it again upgrades: the data directory is backed
up first, then, if the server is running, `gauntlet upgrade` swaps the binary
and hands the server over to it without dropping a request (the old binary
stays as gauntlet.previous); otherwise the binary is swapped and the service
started.

  --domain DOMAIN    public DNS name pointing at this box: Caddy gets a
                     certificate automatically (ports 80 and 443 must be open)
  --lan              LAN/offline box: HTTPS from Caddy's own CA (tls internal)
                     for this box's hostname, hostname.local and IP addresses
  --runner           also run the code runner (live coding matches) on this box:
                     the service then runs as root with CAP_SETUID, CAP_SETGID
                     and CAP_KILL only, and may create namespaces for bubblewrap
                     (see deploy/gauntlet-runner.conf); kept on upgrades
  --binary PATH      the gauntlet executable to install (default: dist/gauntlet
                     beside this script, or dist/gauntlet-linux-<arch>)
  --admin-user NAME  organiser account created on first install (default: admin);
                     its one-time password is printed once
  --uninstall        stop and remove the service, binary, unit and Caddyfile;
                     keeps /var/lib/gauntlet
  --purge            with --uninstall: also delete /var/lib/gauntlet,
                     /etc/gauntlet and the gauntlet user
  --no-systemd       write files only: no apt-get, useradd, chown or systemctl
  -h, --help         this text

Environment:
  DESTDIR            install under this folder instead of / (implies --no-systemd)
EOF
}

log() { printf 'gauntlet-install: %s\n' "$*"; }
die() {
  printf 'gauntlet-install: error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf 'gauntlet-install: %s (see --help)\n' "$*" >&2
  exit 2
}

parse_args() {
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --domain)
        [ "$#" -ge 2 ] || usage_error "--domain needs a value"
        DOMAIN="$2"
        shift
        ;;
      --domain=*) DOMAIN="${1#*=}" ;;
      --lan) LAN=1 ;;
      --runner) RUNNER=1 ;;
      --binary)
        [ "$#" -ge 2 ] || usage_error "--binary needs a path"
        BINARY="$2"
        shift
        ;;
      --binary=*) BINARY="${1#*=}" ;;
      --admin-user)
        [ "$#" -ge 2 ] || usage_error "--admin-user needs a name"
        ADMIN_USER="$2"
        shift
        ;;
      --admin-user=*) ADMIN_USER="${1#*=}" ;;
      --no-systemd) NO_SYSTEMD=1 ;;
      --uninstall) MODE=uninstall ;;
      --purge) PURGE=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) usage_error "unknown argument: $1" ;;
    esac
    shift
  done
  if [ -n "$DOMAIN" ] && [ "$LAN" -eq 1 ]; then usage_error "choose one of --domain and --lan"; fi
  if [ "$PURGE" -eq 1 ] && [ "$MODE" != uninstall ]; then usage_error "--purge only goes with --uninstall"; fi
  if [ -n "$DOMAIN" ]; then
    # Spliced into the Caddyfile, so only plain DNS names get through.
    [[ "$DOMAIN" =~ ^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$ ]] ||
      usage_error "--domain must be a DNS name like hunt.example.org, got '$DOMAIN'"
  fi
  [[ "$ADMIN_USER" =~ ^[A-Za-z0-9_.-]{1,32}$ ]] || usage_error "--admin-user must be 1-32 letters, digits, _ . or -"
  if [ -n "$DESTDIR" ]; then NO_SYSTEMD=1; fi
}

# Paths, all under DESTDIR when it is set.
set_paths() {
  local root="${DESTDIR%/}"
  BIN_PATH="$root/usr/local/bin/gauntlet"
  DATA_DIR="$root/var/lib/gauntlet"
  UNIT_PATH="$root/etc/systemd/system/gauntlet.service"
  DROPIN_DIR="$root/etc/systemd/system/gauntlet.service.d"
  ETC_DIR="$root/etc/gauntlet"
  CADDYFILE="$root/etc/caddy/Caddyfile"
  SYSCTL_CONF="$root/etc/sysctl.d/60-gauntlet.conf"
  PID_FILE="$DATA_DIR/gauntlet.pid"
}

# The release name of this machine's architecture; anything else is refused.
# GAUNTLET_INSTALL_ARCH overrides uname -m (tests of the refusal).
detect_arch() {
  local m="${GAUNTLET_INSTALL_ARCH:-$(uname -m)}"
  case "$m" in
    x86_64 | amd64) ARCH=linux-x64 ;;
    aarch64 | arm64) ARCH=linux-arm64 ;;
    *) die "unsupported architecture '$m': Gauntlet ships for x86_64 (linux-x64) and aarch64 (linux-arm64)" ;;
  esac
}

# The ELF e_machine field (offset 18) of a file: 62 x86-64, 183 aarch64.
elf_machine() {
  local magic
  magic="$(od -An -tx1 -N4 "$1" | tr -d ' \n')"
  [ "$magic" = 7f454c46 ] || return 1
  od -An -tu2 -j18 -N2 "$1" | tr -d ' \n'
}

find_binary() {
  if [ -z "$BINARY" ]; then
    local c
    for c in "$SCRIPT_DIR/dist/gauntlet-$ARCH" "$SCRIPT_DIR/dist/gauntlet"; do
      if [ -f "$c" ]; then
        BINARY="$c"
        break
      fi
    done
    [ -n "$BINARY" ] || die "no binary: build one with 'npm run build' (dist/gauntlet) or pass --binary PATH"
  fi
  [ -f "$BINARY" ] || die "--binary $BINARY: no such file"
  local want got
  case "$ARCH" in
    linux-x64) want=62 ;;
    linux-arm64) want=183 ;;
  esac
  got="$(elf_machine "$BINARY")" || die "$BINARY is not a Linux executable (ELF)"
  [ "$got" = "$want" ] || die "$BINARY is built for another architecture (ELF machine $got); this box needs $ARCH (build with GAUNTLET_TARGET=bun-$ARCH npm run build)"
  NEW_VERSION="$("$BINARY" --version 2>/dev/null)" || die "$BINARY does not run (--version failed)"
}

need_root() {
  [ "$NO_SYSTEMD" -eq 1 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo ./install.sh ...), or use DESTDIR=... / --no-systemd to install into a folder"
}

apt_install() {
  [ "$NO_SYSTEMD" -eq 1 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this installer supports Debian and Ubuntu"
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

ensure_user() {
  [ "$NO_SYSTEMD" -eq 1 ] && return 0
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    log "creating system user $SERVICE_USER"
    useradd --system --user-group --home-dir /var/lib/gauntlet --no-create-home \
      --shell /usr/sbin/nologin --comment "Gauntlet service" "$SERVICE_USER"
  fi
}

# Runs the installed binary against the data dir, as the service user on a
# real install so files it creates are the service's. From / like systemd
# starts it, so nothing in the directory the installer was run from (a
# checkout's node_modules, a .env) can make it work here and fail there.
run_gauntlet() {
  if [ "$NO_SYSTEMD" -eq 1 ]; then
    (cd / && GAUNTLET_DATA_DIR="$DATA_DIR" GAUNTLET_ENV=production "$BIN_PATH" "$@")
  else
    (cd / && runuser -u "$SERVICE_USER" -- env GAUNTLET_DATA_DIR="$DATA_DIR" GAUNTLET_ENV=production "$BIN_PATH" "$@")
  fi
}

service_active() {
  [ "$NO_SYSTEMD" -eq 0 ] && systemctl is-active --quiet gauntlet.service
}

# A server (under systemd or started by hand) serving this data dir: it wrote
# gauntlet.pid (line 1: its pid) once ready and is still alive. Binaries older
# than `gauntlet upgrade` write no pid file, so they get the stop/start path.
server_running() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(head -n1 "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

# Before an upgrade touches anything: a consistent copy of the database. The
# old binary's own `backup` command when it has one (online snapshot), else a
# copy of gauntlet.db and its -wal file with the service stopped, so the two
# agree (the -shm index is rebuilt by SQLite from them).
backup_data() {
  local stamp dest old_version
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  old_version="$("$BIN_PATH" --version 2>/dev/null || echo unknown)"
  mkdir -p "$DATA_DIR/backups"
  [ "$NO_SYSTEMD" -eq 1 ] || chown "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR/backups"
  dest="$DATA_DIR/backups/pre-upgrade-$stamp-$old_version.tar.gz"
  if "$BIN_PATH" backup --help >/dev/null 2>&1 && run_gauntlet backup --to "$dest"; then
    log "backup: $dest (gauntlet backup; restore with: gauntlet restore FILE --data EMPTY_DIR)"
    return 0
  fi
  # No backup command (older binary, or it failed): copy the files offline.
  if service_active; then
    log "stopping gauntlet for the backup"
    systemctl stop gauntlet.service
  fi
  dest="$DATA_DIR/backups/pre-upgrade-$stamp-$old_version"
  local n=1
  while [ -e "$dest" ]; do
    n=$((n + 1))
    dest="$DATA_DIR/backups/pre-upgrade-$stamp-$old_version-$n"
  done
  mkdir -p "$dest"
  local f copied=0
  for f in "$DATA_DIR"/gauntlet.db "$DATA_DIR"/gauntlet.db-wal; do
    if [ -f "$f" ]; then
      cp -p "$f" "$dest/"
      copied=1
    fi
  done
  [ "$copied" -eq 1 ] || log "no database in $DATA_DIR yet; nothing to back up"
  chmod 0750 "$DATA_DIR/backups" "$dest"
  [ "$NO_SYSTEMD" -eq 1 ] || chown -R "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR/backups"
  log "backup: $dest"
}

# Swapped by rename so a running process keeps its old inode and a crash
# mid-copy never leaves a half-written binary at the real path.
install_binary() {
  mkdir -p "$(dirname "$BIN_PATH")"
  install -m 0755 "$BINARY" "$BIN_PATH.new"
  mv -f "$BIN_PATH.new" "$BIN_PATH"
  log "installed $BIN_PATH ($NEW_VERSION)"
}

# SO_REUSEPORT hand-over: when the old server closes its listener, connections
# the kernel had queued for it are reset unless tcp_migrate_req moves them to
# the new server's listener (Linux >= 5.14; -e: older kernels skip the key).
install_sysctl() {
  mkdir -p "$(dirname "$SYSCTL_CONF")"
  cat >"$SYSCTL_CONF" <<'EOF'
# Written by Gauntlet's install.sh. During `gauntlet upgrade` two processes
# share the port (SO_REUSEPORT); when the old one closes its listener, the
# connections queued on it move to the new one instead of being reset.
net.ipv4.tcp_migrate_req = 1
EOF
  chmod 0644 "$SYSCTL_CONF"
  [ "$NO_SYSTEMD" -eq 1 ] && return 0
  sysctl -q -e -p "$SYSCTL_CONF" || log "could not apply $SYSCTL_CONF now (it applies at the next boot)"
}

install_data_dir() {
  mkdir -p "$DATA_DIR"
  chmod 0750 "$DATA_DIR"
  [ "$NO_SYSTEMD" -eq 1 ] || chown "$SERVICE_USER:$SERVICE_USER" "$DATA_DIR"
}

install_unit() {
  mkdir -p "$(dirname "$UNIT_PATH")" "$ETC_DIR"
  install -m 0644 "$SCRIPT_DIR/deploy/gauntlet.service" "$UNIT_PATH"
  # The runner drop-in is refreshed on upgrade once chosen; removing the file
  # is how it is turned off.
  if [ "$RUNNER" -eq 1 ] || [ -f "$DROPIN_DIR/runner.conf" ]; then
    mkdir -p "$DROPIN_DIR"
    install -m 0644 "$SCRIPT_DIR/deploy/gauntlet-runner.conf" "$DROPIN_DIR/runner.conf"
    log "code runner on: $DROPIN_DIR/runner.conf"
  fi
  if [ ! -f "$ETC_DIR/gauntlet.env" ]; then
    cat >"$ETC_DIR/gauntlet.env" <<'EOF'
# Local settings for gauntlet.service as GAUNTLET_* variables, one per line
# (see `gauntlet --help` for the list). install.sh never overwrites this file.
# GAUNTLET_LOG_LEVEL=info
EOF
    chmod 0640 "$ETC_DIR/gauntlet.env"
    [ "$NO_SYSTEMD" -eq 1 ] || chgrp "$SERVICE_USER" "$ETC_DIR/gauntlet.env"
  fi
}

# The names Caddy's local CA issues certificates for on a LAN box.
lan_sites() {
  local h sites=() ip
  h="$(hostname 2>/dev/null || echo gauntlet)"
  h="${h%%.*}"
  [ -n "$h" ] && sites+=("$h" "$h.local")
  for ip in $(hostname -I 2>/dev/null || true); do
    case "$ip" in
      *:*) ;; # IPv6 site addresses need brackets and are rarely typed by hand
      *) sites+=("$ip") ;;
    esac
  done
  sites+=(localhost 127.0.0.1)
  local IFS=,
  printf '%s' "${sites[*]}" | sed 's/,/, /g'
}

install_caddyfile() {
  local src sites
  if [ -n "$DOMAIN" ]; then
    src="$SCRIPT_DIR/Caddyfile"
  elif [ "$LAN" -eq 1 ]; then
    src="$SCRIPT_DIR/deploy/Caddyfile.lan"
  else
    return 0 # upgrade without a mode: keep the Caddyfile as it is
  fi
  mkdir -p "$(dirname "$CADDYFILE")"
  if [ -f "$CADDYFILE" ] && ! grep -q "^$CADDY_MARKER" "$CADDYFILE" && [ ! -f "$CADDYFILE.before-gauntlet" ]; then
    cp -p "$CADDYFILE" "$CADDYFILE.before-gauntlet"
    log "kept the previous Caddyfile as $CADDYFILE.before-gauntlet"
  fi
  if [ -n "$DOMAIN" ]; then
    sed "s/^gauntlet\.example\.com {/$DOMAIN {/" "$src" >"$CADDYFILE.new"
  else
    sites="$(lan_sites)"
    sed "s/^gauntlet\.lan {/$sites {/" "$src" >"$CADDYFILE.new"
  fi
  chmod 0644 "$CADDYFILE.new"
  mv -f "$CADDYFILE.new" "$CADDYFILE"
  log "wrote $CADDYFILE ($([ -n "$DOMAIN" ] && echo "domain $DOMAIN" || echo "LAN: $sites"))"
  if [ "$NO_SYSTEMD" -eq 0 ]; then
    caddy validate --adapter caddyfile --config "$CADDYFILE" >/dev/null 2>&1 ||
      die "caddy rejected $CADDYFILE; run: caddy validate --adapter caddyfile --config $CADDYFILE"
  fi
}

start_services() {
  [ "$NO_SYSTEMD" -eq 1 ] && return 0
  systemctl daemon-reload
  systemctl enable gauntlet.service >/dev/null 2>&1
  systemctl restart gauntlet.service
  systemctl enable caddy.service >/dev/null 2>&1
  systemctl reload-or-restart caddy.service
  # "active" only means the process exists; wait for the app itself to say
  # ready (database open, migrations current), over bash's /dev/tcp since
  # curl may not be installed.
  local i
  for i in $(seq 1 60); do
    if timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/3000 && printf "GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && head -n1 <&3' 2>/dev/null | grep -q " 200 "; then
      log "gauntlet is ready on 127.0.0.1:3000"
      return 0
    fi
    sleep 0.5
    : "$i"
  done
  die "gauntlet.service did not become ready in 30 s; see: journalctl -u gauntlet -n 50"
}

do_install() {
  detect_arch
  find_binary
  need_root
  local upgrade=0 first_db=0
  [ -x "$BIN_PATH" ] && upgrade=1
  [ -f "$DATA_DIR/gauntlet.db" ] || first_db=1
  if [ "$upgrade" -eq 0 ] && [ -z "$DOMAIN" ] && [ "$LAN" -eq 0 ]; then
    usage_error "first install needs --domain DOMAIN or --lan"
  fi

  apt_install caddy bubblewrap
  ensure_user
  install_data_dir
  if [ "$upgrade" -eq 1 ]; then
    log "upgrading $("$BIN_PATH" --version 2>/dev/null || echo '?') -> $NEW_VERSION"
  fi
  # Existing data (an upgrade, or a reinstall after --uninstall without
  # --purge) is backed up before a new binary migrates it.
  if [ "$first_db" -eq 0 ]; then backup_data; fi

  # A running server is handed over, not restarted: `gauntlet upgrade` swaps
  # the binary and signals the server, which starts the new binary as its
  # successor (same user, cgroup and settings); the successor migrates, takes
  # over the port and the old one drains. systemd learns the new main process
  # from PIDFile= when the old one exits, so the unit is reloaded first.
  # Turning the runner on changes the service's user and capabilities: that
  # needs a restart, which the stop/start path below does.
  local runner_new=0
  if [ "$RUNNER" -eq 1 ] && [ ! -f "$DROPIN_DIR/runner.conf" ]; then runner_new=1; fi
  if [ "$upgrade" -eq 1 ] && [ "$runner_new" -eq 0 ] && server_running; then
    install_unit
    install_sysctl
    install_caddyfile
    if [ "$NO_SYSTEMD" -eq 0 ]; then systemctl daemon-reload; fi
    log "handing the running server over to $NEW_VERSION (no request is dropped)"
    (cd / && "$BINARY" upgrade --binary "$BINARY" --install-path "$BIN_PATH" --data "$DATA_DIR") ||
      die "the upgrade did not complete (see above); $BIN_PATH holds the previous binary again if the new one could not start"
    if [ "$NO_SYSTEMD" -eq 0 ] && { [ -n "$DOMAIN" ] || [ "$LAN" -eq 1 ]; }; then systemctl reload-or-restart caddy.service; fi
    log "done: $NEW_VERSION is serving; the previous binary is $BIN_PATH.previous"
    return 0
  fi

  if service_active; then systemctl stop gauntlet.service; fi
  install_binary
  install_unit
  install_sysctl
  install_caddyfile

  log "migrating the database"
  run_gauntlet migrate
  if [ "$first_db" -eq 1 ]; then
    log "creating organiser account '$ADMIN_USER'"
    local out
    out="$(run_gauntlet user create "$ADMIN_USER" --admin)" || die "could not create the organiser account: $out"
    printf '%s\n' "$out"
    log "write the one-time password down now: it is not shown again"
  fi
  start_services

  if [ ! -f "$DROPIN_DIR/runner.conf" ]; then
    log "the code runner is off here (live coding matches cannot run code); re-run with --runner to turn it on"
  fi
  if [ "$NO_SYSTEMD" -eq 1 ]; then
    log "done (files only under '${DESTDIR:-/}'; nothing was started)"
  elif [ -n "$DOMAIN" ]; then
    log "done: https://$DOMAIN (status: systemctl status gauntlet; logs: journalctl -u gauntlet)"
  else
    log "done: https://$(hostname).local or https://<this box's IP>; trust Caddy's root CA on clients: /var/lib/caddy/.local/share/caddy/pki/authorities/local/root.crt"
  fi
}

do_uninstall() {
  need_root
  if [ "$NO_SYSTEMD" -eq 0 ] && systemctl list-unit-files gauntlet.service >/dev/null 2>&1; then
    systemctl disable --now gauntlet.service >/dev/null 2>&1 || true
  fi
  rm -f "$UNIT_PATH" "$DROPIN_DIR/runner.conf" "$BIN_PATH" "$BIN_PATH.new" "$BIN_PATH.previous" "$SYSCTL_CONF"
  rmdir "$DROPIN_DIR" 2>/dev/null || true
  [ "$NO_SYSTEMD" -eq 1 ] || systemctl daemon-reload
  if [ -f "$CADDYFILE" ] && grep -q "^$CADDY_MARKER" "$CADDYFILE"; then
    if [ -f "$CADDYFILE.before-gauntlet" ]; then
      mv -f "$CADDYFILE.before-gauntlet" "$CADDYFILE"
      log "restored the previous Caddyfile"
      [ "$NO_SYSTEMD" -eq 1 ] || systemctl reload-or-restart caddy.service || true
    else
      rm -f "$CADDYFILE"
      # Caddy served only Gauntlet here; without a Caddyfile it cannot start.
      [ "$NO_SYSTEMD" -eq 1 ] || systemctl disable --now caddy.service >/dev/null 2>&1 || true
    fi
  fi
  if [ "$PURGE" -eq 1 ]; then
    rm -rf "$DATA_DIR" "$ETC_DIR"
    if [ "$NO_SYSTEMD" -eq 0 ] && id -u "$SERVICE_USER" >/dev/null 2>&1; then
      userdel "$SERVICE_USER" || true
    fi
    log "removed Gauntlet and its data"
  else
    log "removed Gauntlet; data kept in $DATA_DIR (and settings in $ETC_DIR); --uninstall --purge deletes them"
  fi
}

main() {
  parse_args "$@"
  set_paths
  case "$MODE" in
    install) do_install ;;
    uninstall) do_uninstall ;;
  esac
}

main "$@"
