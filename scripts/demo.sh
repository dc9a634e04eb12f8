#!/usr/bin/env bash
# The main job, end to end, on the example merchants. Run through `make demo`.
set -euo pipefail
merchant="${1:-acme}"
# Bold headings on a terminal (or with FORCE_COLOR), never with NO_COLOR (no-color.org), like the tool itself.
force="${FORCE_COLOR:-}"; case "$force" in 0|false|no) force='' ;; esac
if [ -z "${NO_COLOR:-}" ] && { [ -t 1 ] || [ -n "$force" ]; }; then bold=$'\033[1m' reset=$'\033[0m'
else bold='' reset=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }

step "1. Validate every merchant file (offline)"
provision validate

# The merchant's own environments, in the file's order (acme: qa prod; nordwind: staging production).
environments=$(python3 -c 'import sys, yaml
print(" ".join(yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["environments"]))' "merchants/$merchant.yaml")
first="${environments%% *}" last="${environments##* }"

step "2. What the presets and the merchant file resolve to in $first (abridged)"
mkdir -p out
provision resolve "$merchant" --env "$first" > "out/$merchant.$first.resolved.yaml"
sed -n '1,40p' "out/$merchant.$first.resolved.yaml"
echo "   ... (whole file: out/$merchant.$first.resolved.yaml)"

if [ "$last" != "$first" ]; then
  step "3. The same merchant in $last: the webhook URL follows the environment"
  provision resolve "$merchant" --env "$last" --format json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
print("   centra:   ", doc["environment"]["centra_url"], "(tier", doc["environment"]["tier"] + ")")
print("   webhook:  ", (doc.get("derived") or {}).get("webhook_url") or "(none: no Global-e webhook)")'
else
  step "3. $merchant has one environment ($first): nothing to compare"
fi

step "4. A fresh sandbox: the built-in Centra emulator for $merchant"
provision sandbox reset "$merchant"

step "5. Plan against the sandbox: what the checklist needs, and who does each part"
status=0; provision plan "$merchant" --env sandbox --detailed-exitcode --out "out/$merchant.sandbox.plan.json" \
  > "out/$merchant.sandbox.plan.txt" || status=$?
[ "$status" -eq 2 ] || { echo "expected exit 2 (changes present), got $status"; exit 1; }
grep -E '^  [+~-] |^Plan:' "out/$merchant.sandbox.plan.txt"
echo "   (full plan: out/$merchant.sandbox.plan.txt; JSON: out/$merchant.sandbox.plan.json)"

step "6. Apply: api changes through the Integration API, the rest into a runbook"
provision apply "out/$merchant.sandbox.plan.json" --yes | grep -vE '^      '

runbook="out/$merchant.sandbox.runbook.md"
if [ -f "$runbook" ]; then
  step "7. The runbook a person would follow in AMS (abridged)"
  sed -n '1,30p' "$runbook"
  echo "   ... (whole runbook: $runbook)"

  step "8. The simulated operator performs the runbook in the sandbox's AMS"
  provision sandbox operator "$runbook"

  step "9. Attest the settings the API cannot read (hashes go to the ledger, never values)"
  provision attest "$merchant" --env sandbox --yes
else
  step "7-9. No runbook: every change went through the API, nothing is left for a person or to attest"
fi

step "10. Plan again: the store has converged, and no policy finding blocks it"
provision plan "$merchant" --env sandbox --detailed-exitcode --fail-on warning

step "11. Verify every stage of the Global-e order lifecycle"
provision verify "$merchant" --env sandbox

step "12. Hand over to Global-e: facts in a document, secrets only in a 0600 bundle"
if provision resolve "$merchant" --env sandbox --format json \
    | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin).get("global_e") else 1)'; then
  provision handover "$merchant" --env sandbox
  sed -n '1,12p' "out/$merchant.sandbox.global-e-handover.md"
else
  echo "   ($merchant does not use Global-e: nothing to hand over)"
fi

step "Summary"
echo "   validated the merchant files; resolved $environments; planned $merchant against a fresh sandbox;"
echo "   applied the api changes (token values in .provision/secrets/, mode 0600);"
if [ -f "$runbook" ]; then echo "   an operator did the runbook; attested the opaque settings;"; fi
echo "   the final plan shows no changes; verify probed every order stage the file asks for;"
if [ -f "out/$merchant.sandbox.global-e-handover.md" ]; then
  echo "   the handover for Global-e names where the secrets are and holds none of them."
fi
