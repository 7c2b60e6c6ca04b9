#!/usr/bin/env bash
# Writes generated/<neighborhood>-homes.yaml for each neighborhood's
# StatefulSet, with the gridmesh binary: a ConfigMap of home files (one
# per pod, <pod>.yaml) and a Secret of identity keys (<pod>.key),
# membership certificates (<pod>.pem) and the neighborhood's public key.
# The neighborhoods' private keys stay in generated/keys/: keep them off
# the cluster.
#
#   make build && GRIDMESH=../../bin/gridmesh ./init.sh
#   kubectl apply -f namespace.yaml -f generated/ -f oak-street.yaml -f elm-street.yaml
#
# Environment: GRIDMESH (default gridmesh on PATH, or ../../bin/gridmesh),
# OUT (default ./generated), NETWORK (default k8s-city), REPLICAS (each
# StatefulSet's, default 3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
GRIDMESH=${GRIDMESH:-$(command -v gridmesh || echo "$here/../../bin/gridmesh")}
OUT=${OUT:-$here/generated}
NETWORK=${NETWORK:-k8s-city}
REPLICAS=${REPLICAS:-3}
neighborhoods=(oak-street elm-street)

if [ -e "$OUT" ]; then
  echo "init.sh: $OUT exists; remove it to start a new city" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT/keys"

# home_file POD NEIGHBORHOOD DATA_DIR SEED [BOOTSTRAP...]
home_file() {
  local pod=$1 nb=$2 data=$3 seed=$4
  shift 4
  cat <<YAML
home: $pod
neighborhood: $nb
network: $NETWORK
listen: ["/ip4/0.0.0.0/tcp/4001"]
data_dir: $data
http: 0.0.0.0:8181
admission:
  neighborhood_key: /etc/gridmesh/neighborhood.pub
  certificate: /etc/gridmesh/home.pem
target_w: 1 kW
YAML
  if [ $# -gt 0 ]; then
    echo "bootstrap:"
    for b in "$@"; do echo "  - $b"; done
  fi
  cat <<YAML
devices:
  - name: house
    kinds: [battery, meter, pv, charger, heatpump, loads]
    driver: sim
    sim:
      seed: $seed
      battery: {capacity: 13.5 kWh, max_charge: 5 kW, max_discharge: 5 kW, efficiency: 90%, initial_soc: 60%, reserve: 20%}
      pv: {peak: 4 kW}
      load: {base: 400 W, evening_peak: 1.2 kW, critical: 40%}
YAML
}

# Identities first: every home file names the others' peer IDs.
declare -A peer
seed=1
for nb in "${neighborhoods[@]}"; do
  "$GRIDMESH" neighborhood init --id "$nb" --out "$OUT/keys/$nb" >/dev/null
  for i in $(seq 0 $((REPLICAS - 1))); do
    pod=$nb-$i
    home_file "$pod" "$nb" "$work/$pod" "$seed" > "$work/$pod.id.yaml"
    peer[$pod]=$("$GRIDMESH" node id --config "$work/$pod.id.yaml")
    "$GRIDMESH" neighborhood invite --key "$OUT/keys/$nb/neighborhood.key" \
      --peer "${peer[$pod]}" --home "$pod" --out "$work/$pod.pem" >/dev/null
    seed=$((seed + 1))
  done
done

indent() { sed 's/^/    /'; }
seed=1
for nb in "${neighborhoods[@]}"; do
  f="$OUT/$nb-homes.yaml"
  {
    echo "# Written by init.sh: the $nb homes' files, identities and certificates."
    echo "apiVersion: v1"
    echo "kind: ConfigMap"
    echo "metadata: {name: $nb-homes, namespace: gridmesh}"
    echo "data:"
    for i in $(seq 0 $((REPLICAS - 1))); do
      pod=$nb-$i
      boots=()
      for j in $(seq 0 $((REPLICAS - 1))); do
        [ "$j" = "$i" ] || boots+=("/dns4/$nb-$j.$nb/tcp/4001/p2p/${peer[$nb-$j]}")
      done
      for other in "${neighborhoods[@]}"; do
        [ "$other" = "$nb" ] || boots+=("/dns4/$other-0.$other/tcp/4001/p2p/${peer[$other-0]}")
      done
      echo "  $pod.yaml: |"
      home_file "$pod" "$nb" /var/lib/gridmesh "$seed" "${boots[@]}" | indent
      seed=$((seed + 1))
    done
    echo "---"
    echo "apiVersion: v1"
    echo "kind: Secret"
    echo "metadata: {name: $nb-homes, namespace: gridmesh}"
    echo "type: Opaque"
    echo "data:"
    echo "  neighborhood.pub: $(base64 -w0 < "$OUT/keys/$nb/neighborhood.pub")"
    for i in $(seq 0 $((REPLICAS - 1))); do
      pod=$nb-$i
      echo "  $pod.key: $(base64 -w0 < "$work/$pod/identity.key")"
      echo "  $pod.pem: $(base64 -w0 < "$work/$pod.pem")"
    done
  } > "$f"
done
echo "written: $(ls "$OUT"/*.yaml | tr '\n' ' ')"
