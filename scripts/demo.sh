#!/usr/bin/env bash
# The main job, end to end, on the example merchants. Run through `make demo`.
set -euo pipefail
merchant="${1:-acme}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Validate every merchant file (offline)"
provision validate

step "2. What the global-e preset and the merchant file resolve to in QA (abridged)"
mkdir -p out
provision resolve "$merchant" --env qa > "out/$merchant.qa.resolved.yaml"
sed -n '1,40p' "out/$merchant.qa.resolved.yaml"
echo "   ... (whole file: out/$merchant.qa.resolved.yaml)"

step "3. The same merchant in PROD: the webhook URL follows the environment"
provision resolve "$merchant" --env prod --format json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
print("   centra:   ", doc["environment"]["centra_url"], "(tier", doc["environment"]["tier"] + ")")
print("   webhook:  ", doc["derived"]["webhook_url"])'
