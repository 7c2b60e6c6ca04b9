#!/usr/bin/env bash
# Writes what the compose city's homes need, with the gridmesh binary:
# each neighborhood's membership key pair, each home's identity key (in
# its data directory), its membership certificate, and its home file,
# which lists the other homes of its neighborhood (and one of the other
# neighborhood, for the region) as bootstrap peers by their compose
# service names and peer IDs. Then `docker compose up -d`.
#
#   make build && GRIDMESH=../../bin/gridmesh ./init.sh
#
# Environment: GRIDMESH (the binary; default gridmesh on PATH, or
# ../../bin/gridmesh), OUT (default ./state), NETWORK (default
# compose-city), ENV_FILE (default ./.env, which compose reads). Refuses to overwrite an existing OUT: the identities
# and the Raft state in it are the city's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
GRIDMESH=${GRIDMESH:-$(command -v gridmesh || echo "$here/../../bin/gridmesh")}
OUT=${OUT:-$here/state}
NETWORK=${NETWORK:-compose-city}
ENV_FILE=${ENV_FILE:-$here/.env}

# The city: two neighborhoods of three homes. home-a3's battery and
# meter speak MQTT through mosquitto (the devices service simulates
# them); every other home simulates its devices in process.
neighborhoods=(oak-street elm-street)
homes_oak_street=(home-a1 home-a2 home-a3)
homes_elm_street=(home-b1 home-b2 home-b3)

homes_of() { local v="homes_${1//-/_}[@]"; echo "${!v}"; }

if [ -e "$OUT" ]; then
  echo "init.sh: $OUT exists; remove it to start a new city" >&2
  exit 1
fi
mkdir -p "$OUT"

# devices_block HOME SEED: the home's devices, as YAML.
devices_block() {
  if [ "$1" = home-a3 ]; then
    cat <<YAML
devices:
  - name: battery
    kinds: [battery]
    driver: mqtt
    mqtt:
      broker: tcp://mosquitto:1883
      state_topic: $1/battery/state
      set_topic: $1/battery/set
      stale_after: 15s
      release_payload: '{"mode": "auto"}'
      will_payload: '{"mode": "auto"}'
      resolution: 1 W
  - name: meter
    kinds: [meter]
    driver: mqtt
    mqtt:
      broker: tcp://mosquitto:1883
      state_topic: $1/meter/state
YAML
  else
    cat <<YAML
devices:
  - name: house
    kinds: [battery, meter, pv, charger, heatpump, loads]
    driver: sim
    sim:
      seed: $2
      battery: {capacity: 13.5 kWh, max_charge: 5 kW, max_discharge: 5 kW, efficiency: 90%, initial_soc: 60%, reserve: 20%}
      pv: {peak: 4 kW}
      load: {base: 400 W, evening_peak: 1.2 kW, critical: 40%}
YAML
  fi
}

# home_file HOME NEIGHBORHOOD DATA_DIR ETC_DIR SEED [BOOTSTRAP...]
home_file() {
  local home=$1 nb=$2 data=$3 etc=$4 seed=$5
  shift 5
  cat <<YAML
# $home of $nb in the compose city (written by init.sh).
home: $home
neighborhood: $nb
network: $NETWORK
listen: ["/ip4/0.0.0.0/tcp/4001"]
data_dir: $data
http: 0.0.0.0:8181
admission:
  neighborhood_key: $etc/neighborhood.pub
  certificate: $etc/home.pem
target_w: 1 kW
YAML
  if [ $# -gt 0 ]; then
    echo "bootstrap:"
    for b in "$@"; do echo "  - $b"; done
  fi
  devices_block "$home" "$seed"
}

# 1. Keys: a membership key pair per neighborhood, an identity per home.
declare -A peer
seed=1
for nb in "${neighborhoods[@]}"; do
  "$GRIDMESH" neighborhood init --id "$nb" --out "$OUT/keys/$nb" >/dev/null
  for h in $(homes_of "$nb"); do
    mkdir -p "$OUT/$h/data" "$OUT/$h/etc"
    home_file "$h" "$nb" "$OUT/$h/data" "$OUT/$h/etc" "$seed" > "$OUT/$h/id.yaml"
    peer[$h]=$("$GRIDMESH" node id --config "$OUT/$h/id.yaml")
    rm "$OUT/$h/id.yaml"
    seed=$((seed + 1))
  done
done

# 2. Certificates and home files, with container paths.
seed=1
for nb in "${neighborhoods[@]}"; do
  for h in $(homes_of "$nb"); do
    "$GRIDMESH" neighborhood invite --key "$OUT/keys/$nb/neighborhood.key" \
      --peer "${peer[$h]}" --home "$h" --out "$OUT/$h/etc/home.pem" >/dev/null
    cp "$OUT/keys/$nb/neighborhood.pub" "$OUT/$h/etc/neighborhood.pub"
    boots=()
    for o in $(homes_of "$nb"); do
      [ "$o" = "$h" ] || boots+=("/dns4/$o/tcp/4001/p2p/${peer[$o]}")
    done
    for other in "${neighborhoods[@]}"; do
      [ "$other" = "$nb" ] && continue
      first=$(homes_of "$other" | cut -d' ' -f1)
      boots+=("/dns4/$first/tcp/4001/p2p/${peer[$first]}")
    done
    home_file "$h" "$nb" /var/lib/gridmesh /etc/gridmesh "$seed" "${boots[@]}" > "$OUT/$h/etc/home.yaml"
    seed=$((seed + 1))
  done
done

# 3. The homes run as this user, so they can write the data directories
# this script made; run as root, the script hands them to the image's
# non-root user (65532) instead, so no home runs as root.
user="$(id -u):$(id -g)"
if [ "$(id -u)" = 0 ]; then
  user=65532:65532
fi
for nb in "${neighborhoods[@]}"; do
  for h in $(homes_of "$nb"); do
    chmod 0700 "$OUT/$h/data"
    if [ "$user" = 65532:65532 ]; then chown -R "$user" "$OUT/$h/data"; fi
  done
done
echo "GRIDMESH_USER=$user" > "$ENV_FILE"
echo "city written to $OUT (${#peer[@]} homes); next: docker compose up -d"
