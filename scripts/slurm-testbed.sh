#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing `--backend slurm` (Debian/Ubuntu, as root):
#
#   scripts/slurm-testbed.sh start    # install slurm-wlm + munge if missing, configure, start the daemons, wait for the node
#   scripts/slurm-testbed.sh status   # what runs, and sinfo
#   scripts/slurm-testbed.sh stop     # stop the daemons, remove the configuration and the state this script wrote
#
# The node is this host, with the CPU count and memory that `slurmd -C` reads from it; one partition ("debug", the
# default); consumable cores and memory (select/cons_tres, CR_Core_Memory); no cgroups (proctrack/linuxproc, task/none),
# so it runs in containers without systemd; requeue allowed (JobRequeue=1); no accounting database. munged, slurmctld and
# slurmd are started directly as root (no systemd). The configuration goes to /etc/slurm/slurm.conf (marked as written
# here, so that `stop` removes only its own and `start` never overwrites someone else's); state, spool, pid and log
# files go under $DISCRETEGRAD_SLURM_DIR (default /var/tmp/discretegrad-slurm). Both subcommands are idempotent: `start`
# on a running testbed only checks it; `stop` on a stopped one does nothing.
#
# Slurm holds a requeued job for cred_expire seconds before it may start again (default 120 s); the testbed sets 10 s
# (DISCRETEGRAD_SLURM_REQUEUE_DELAY) so that tests of preemption stay short.
#
# Cost, measured on a 2-core Debian 12 VM: installing (apt-get update + slurm-wlm and munge without recommends, about
# 13 MB on disk, Slurm 22.05) about 10 s with a near mirror (once); `start` then about 1 s until sinfo shows the node
# idle (0.02 s when already running); `stop` about 5 s (slurmctld saves its state before it exits).
set -euo pipefail

state_dir="${DISCRETEGRAD_SLURM_DIR:-/var/tmp/discretegrad-slurm}"
conf=/etc/slurm/slurm.conf
marker="# Written by DiscreteGrad scripts/slurm-testbed.sh; removed by its 'stop'."
munge_socket=/run/munge/munge.socket.2
partition=debug

say() { echo "slurm-testbed: $*"; }
die() { echo "slurm-testbed: error: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "run me as root (I install packages and start the Slurm daemons as root)."; }

install_packages() {
  local missing=()
  command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 || missing+=(slurm-wlm)
  command -v munged >/dev/null 2>&1 || missing+=(munge)
  if [ "${#missing[@]}" -eq 0 ]; then return; fi
  command -v apt-get >/dev/null 2>&1 || die "${missing[*]} missing and no apt-get here; install Slurm and munge yourself."
  say "installing ${missing[*]} with apt-get (about 10 s from a near mirror, once)..."
  local start=$SECONDS log
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get could not install ${missing[*]}."
  fi
  rm -f "$log"
  say "installed in $((SECONDS - start)) s."
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Waits up to $2 seconds for the command $1 (a string, run by bash) to succeed.
wait_for() {
  local what=$1 limit=$2 i
  for ((i = 0; i < limit * 4; i++)); do
    if bash -c "$what" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -n1; }

write_conf() {
  local node_line name cpus mem
  node_line=$(slurmd -C | head -n1)   # NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105
  name=$(sed -n 's/.*NodeName=\([^ ]*\).*/\1/p' <<<"$node_line")
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
  [ -n "$name" ] && [ -n "$cpus" ] && [ -n "$mem" ] || die "cannot read the node from 'slurmd -C' (got: $node_line)."
  mkdir -p "$state_dir"/{state,spool,log} /etc/slurm
  cat >"$conf.tmp" <<EOF
$marker
# One node (this host: $cpus CPUs, $mem MB), one partition, no cgroups, no accounting. State under $state_dir.
ClusterName=discretegrad
SlurmctldHost=$name(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits cred_expire seconds before it may start again (Slurm's default: 120 s); short for tests.
AuthInfo=cred_expire=${DISCRETEGRAD_SLURM_REQUEUE_DELAY:-10}
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobRequeue=1
ReturnToService=2
StateSaveLocation=$state_dir/state
SlurmdSpoolDir=$state_dir/spool
SlurmctldPidFile=$state_dir/slurmctld.pid
SlurmdPidFile=$state_dir/slurmd.pid
SlurmctldLogFile=$state_dir/log/slurmctld.log
SlurmdLogFile=$state_dir/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
KillWait=30
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
DefMemPerCPU=$((mem / cpus))
NodeName=$name NodeAddr=127.0.0.1 $(cut -d' ' -f2- <<<"$node_line") State=UNKNOWN
PartitionName=$partition Nodes=$name Default=YES MaxTime=INFINITE State=UP
EOF
  mv -f "$conf.tmp" "$conf"
}

start_munge() {
  if [ -S "$munge_socket" ] && munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  local user=root
  if id munge >/dev/null 2>&1; then user=munge; fi
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating the munge key /etc/munge/munge.key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null 2>&1; then mungekey --create --keyfile=/etc/munge/munge.key; else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown "$user:" /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
  chmod 0400 /etc/munge/munge.key
  chmod 0755 /run/munge
  chmod 0700 /var/lib/munge /var/log/munge
  # munged as the munge user the package creates (what it expects: it warns about files of another owner); as root
  # (--force) only where there is no such user. Both are started from here directly, without systemd.
  if [ "$user" = munge ]; then
    runuser -u munge -- munged --force --pid-file=/run/munge/munged.pid
  else
    munged --force --pid-file=/run/munge/munged.pid
  fi
  touch "$state_dir/munged.ours"
  wait_for "munge -n </dev/null | unmunge" 10 || die "munged did not come up (see /var/log/munge/munged.log)."
}

cmd_start() {
  need_root
  local start=$SECONDS
  install_packages
  if [ -f "$conf" ] && ! grep -qxF "$marker" "$conf"; then
    die "$conf exists and was not written by this script (a real cluster's?); I leave it alone."
  fi
  mkdir -p "$state_dir"
  start_munge
  if pid_alive "$state_dir/slurmctld.pid" && pid_alive "$state_dir/slurmd.pid" && [[ "$(node_state)" =~ ^(idle|mixed|allocated)$ ]]; then
    say "already running: $(sinfo -h -N -o '%N %T, %c CPUs, %m MB' | head -n1)"
    return
  fi
  write_conf
  if ! pid_alive "$state_dir/slurmctld.pid"; then
    # -c: a clean start (no jobs from an earlier testbed); -i: ignore state files we cannot read.
    slurmctld -c -i
  fi
  wait_for "scontrol ping | grep -q UP" 20 || die "slurmctld did not come up; see $state_dir/log/slurmctld.log."
  if ! pid_alive "$state_dir/slurmd.pid"; then slurmd; fi
  if ! wait_for "[ \"\$(sinfo -h -N -o '%T' | head -n1)\" = idle ]" 30; then
    sinfo -N -l >&2 || true
    die "the node did not become idle within 30 s; see $state_dir/log/slurmd.log and slurmctld.log."
  fi
  say "running (started in $((SECONDS - start)) s): $(sinfo -h -N -o '%N %T, %c CPUs, %m MB, partition %P' | head -n1)"
  say "stop it with: $0 stop"
}

cmd_stop() {
  need_root
  local stopped=0 f pid
  for f in "$state_dir/slurmd.pid" "$state_dir/slurmctld.pid"; do
    if pid_alive "$f"; then
      pid=$(cat "$f")
      kill -TERM "$pid"
      for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
      stopped=1
    fi
  done
  # munged: only if this script started it, and no other Slurm daemon still needs it.
  if [ -f "$state_dir/munged.ours" ] && pid_alive /run/munge/munged.pid && ! pgrep -x slurmctld >/dev/null && ! pgrep -x slurmd >/dev/null; then
    pid=$(cat /run/munge/munged.pid)
    kill -TERM "$pid"
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    stopped=1
  fi
  if [ -f "$conf" ] && grep -qxF "$marker" "$conf"; then rm -f "$conf"; fi
  rm -rf "$state_dir"
  if [ "$stopped" -eq 1 ]; then say "stopped; removed $conf and $state_dir."; else say "not running (nothing to stop)."; fi
}

cmd_status() {
  local up=0
  pid_alive "$state_dir/slurmctld.pid" && up=1 && say "slurmctld pid $(cat "$state_dir/slurmctld.pid")"
  pid_alive "$state_dir/slurmd.pid" && say "slurmd pid $(cat "$state_dir/slurmd.pid")"
  pid_alive /run/munge/munged.pid && say "munged pid $(cat /run/munge/munged.pid)"
  if [ "$up" -eq 1 ]; then sinfo -N -l; else say "not running."; return 1; fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
